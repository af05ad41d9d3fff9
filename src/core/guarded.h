// Readers and loaders behind a guard: the exceptions the standard library
// can still throw out of a step that returns a Status or Result<T> become
// errors naming the input, not a crash or a message without the file.
//
//   std::bad_alloc       -> Status::Io("<origin>: out of memory <doing>")
//                           (exit 2: an input within the budgets that still
//                           does not fit this machine; docs/reliability.md)
//   other std::exception -> Status::Internal("<origin>: unexpected error <doing>: <what()>")
//                           (exit 3: nothing in the readers should throw)
//
// `doing` completes the sentence, e.g. "reading the array",
// "reading the archive", "loading the dump".
#pragma once

#include <exception>
#include <new>
#include <string>

#include "core/status.h"

namespace assignscope {

template <class F>
auto guarded(const std::string& origin, const char* doing, F&& step) -> decltype(step()) {
  try {
    return step();
  } catch (const std::bad_alloc&) {
    return Status::Io(origin + ": out of memory " + doing);
  } catch (const std::exception& e) {
    return Status::Internal(origin + ": unexpected error " + doing + ": " + e.what());
  }
}

}  // namespace assignscope
