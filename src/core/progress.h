// How far a long computation inside one replay has got (Sinkhorn's
// iterations), for the progress line a command draws on a terminal while
// one large image takes seconds.
//
// A loop reports with progress::step("Sinkhorn iteration", done, total);
// the command's progress line (cmd/assignscope) reads the latest report.
// Reports are dropped unless a line is shown (enable_steps), and a report is
// three relaxed stores, so a loop may report every iteration. With several
// images replayed at once, the line shows whichever reported last.
#pragma once

#include <atomic>
#include <cstdint>

namespace assignscope::progress {

struct StepReport {
  const char* what = nullptr;  // a static string: "Sinkhorn iteration"
  int64_t done = 0, total = 0;
};

namespace detail {
struct Steps {
  std::atomic<bool> enabled{false};
  std::atomic<const char*> what{nullptr};
  std::atomic<int64_t> done{0}, total{0};
};
inline Steps& steps() {
  static Steps s;
  return s;
}
}  // namespace detail

inline void enable_steps(bool on) {
  detail::Steps& s = detail::steps();
  s.what.store(nullptr, std::memory_order_relaxed);
  s.enabled.store(on, std::memory_order_relaxed);
}

inline void step(const char* what, int64_t done, int64_t total) {
  detail::Steps& s = detail::steps();
  if (!s.enabled.load(std::memory_order_relaxed)) return;
  s.done.store(done, std::memory_order_relaxed);
  s.total.store(total, std::memory_order_relaxed);
  s.what.store(what, std::memory_order_relaxed);
}

inline StepReport current_step() {
  const detail::Steps& s = detail::steps();
  return {s.what.load(std::memory_order_relaxed), s.done.load(std::memory_order_relaxed),
          s.total.load(std::memory_order_relaxed)};
}

}  // namespace assignscope::progress
