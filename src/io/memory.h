// How much memory reading a dump may take. The readers compare what a file
// declares (a .npy header's shape, a zip member's size, the length of a JSON
// text) with this before allocating, so a hostile or mistaken size is a
// one-line error instead of an out-of-memory kill.
#pragma once

#include <cstdint>
#include <string>

namespace assignscope::io {

struct MemoryBudget {
  uint64_t bytes = UINT64_MAX;
  // Where the figure comes from, for messages: "MemAvailable", "the cgroup
  // memory limit", "ulimit -v", "the memory limit given".
  std::string source;
};

// What the system can give this process now: the smallest of MemAvailable
// (/proc/meminfo), the room left under a cgroup memory limit and under the
// address-space limit (ulimit -v); physical memory when none is readable.
MemoryBudget available_memory();

// `limit` bytes when it is non-zero ("the memory limit given"), else available_memory().
MemoryBudget memory_budget(uint64_t limit);

// "152 bytes", "4.0 KiB", "1.0 TiB".
std::string format_bytes(uint64_t bytes);

// "<what_needs> <n> bytes (<n in KiB..EiB>), more than the <budget> of memory
// available (<source>)"; `what_needs` ends with its verb ("x.npy: the file needs").
std::string over_budget(const std::string& what_needs, uint64_t needed, const MemoryBudget& budget);

}  // namespace assignscope::io
