// Running independent pieces of work (images, cases) on several threads.
#pragma once

#include <cstddef>
#include <functional>

namespace assignscope {

// Workers for `requested` threads: itself when > 0, else one per hardware
// thread; never more than `items`, never fewer than 1.
size_t worker_count(int requested, size_t items);

// Calls body(i) for every i in [0, count), on worker_count(threads, count)
// threads (the caller's among them); each i exactly once, in no fixed order.
// After each call, done(number finished so far) runs under a lock, when
// given. An exception thrown by a body stops the remaining work and is
// rethrown here, on the caller's thread, after every worker has finished.
void parallel_for(size_t count, int threads, const std::function<void(size_t)>& body,
                  const std::function<void(size_t)>& done = {});

}  // namespace assignscope
