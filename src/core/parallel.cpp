// parallel_for: a shared counter hands out indices; no work is pre-split, so
// uneven images balance themselves.
#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace assignscope {

size_t worker_count(int requested, size_t items) {
  const size_t wanted =
      requested > 0 ? static_cast<size_t>(requested) : std::max(1u, std::thread::hardware_concurrency());
  return std::max<size_t>(1, std::min(wanted, items));
}

void parallel_for(size_t count, int threads, const std::function<void(size_t)>& body,
                  const std::function<void(size_t)>& done) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;  // guards finished, error and done()
  size_t finished = 0;
  std::exception_ptr error;
  const auto work = [&] {
    for (size_t i = next++; i < count && !failed; i = next++) {
      try {
        body(i);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
        failed = true;
        return;
      }
      const std::lock_guard<std::mutex> lock(mutex);
      ++finished;
      if (done) done(finished);
    }
  };
  std::vector<std::thread> workers;
  const size_t n = worker_count(threads, count);
  for (size_t t = 1; t < n; ++t) workers.emplace_back(work);
  work();
  for (std::thread& w : workers) w.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace assignscope
