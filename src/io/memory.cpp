// The memory budget of the readers: /proc/meminfo, cgroup and rlimit figures.
#include "io/memory.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace assignscope::io {
namespace {

// "<key>:   <n> kB" from a /proc file, in bytes; 0 when absent.
uint64_t proc_kib(const char* path, const char* key) {
  std::ifstream in(path);
  std::string line;
  const size_t key_len = std::strlen(key);
  while (std::getline(in, line)) {
    if (line.compare(0, key_len, key) != 0 || line.size() <= key_len || line[key_len] != ':') continue;
    unsigned long long kib = 0;
    if (std::sscanf(line.c_str() + key_len + 1, "%llu", &kib) == 1) return static_cast<uint64_t>(kib) * 1024;
  }
  return 0;
}

// A number from a one-line sysfs file; 0 for "max", absent or unreadable.
uint64_t file_number(const char* path) {
  std::ifstream in(path);
  unsigned long long value = 0;
  if (!(in >> value)) return 0;
  return static_cast<uint64_t>(value);
}

void consider(MemoryBudget* budget, uint64_t bytes, const char* source) {
  if (bytes < budget->bytes) {
    budget->bytes = bytes;
    budget->source = source;
  }
}

}  // namespace

MemoryBudget available_memory() {
  MemoryBudget budget;
  if (const uint64_t avail = proc_kib("/proc/meminfo", "MemAvailable"); avail > 0)
    consider(&budget, avail, "MemAvailable");
  // cgroup v2, then v1 (a container's limit; MemAvailable shows the host's).
  for (const auto& [limit_path, usage_path] :
       {std::pair{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
        std::pair{"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"}}) {
    const uint64_t limit = file_number(limit_path);
    if (limit == 0 || limit >= (uint64_t{1} << 60)) continue;  // "max", or v1's "unlimited"
    const uint64_t used = file_number(usage_path);
    consider(&budget, limit > used ? limit - used : 0, "the cgroup memory limit");
  }
  rlimit as{};
  if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
    const uint64_t mapped = proc_kib("/proc/self/status", "VmSize");
    const auto cap = static_cast<uint64_t>(as.rlim_cur);
    consider(&budget, cap > mapped ? cap - mapped : 0, "ulimit -v");
  }
  if (budget.source.empty()) {
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page_size = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page_size > 0)
      consider(&budget, static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size), "physical memory");
  }
  if (budget.source.empty()) budget.source = "unknown";
  return budget;
}

MemoryBudget memory_budget(uint64_t limit) {
  if (limit == 0) return available_memory();
  return MemoryBudget{limit, "the memory limit given"};
}

std::string format_bytes(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes) / 1024.0;
  int unit = 0;
  while (value >= 1024.0 && unit < 5) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  return text;
}

std::string over_budget(const std::string& what_needs, uint64_t needed, const MemoryBudget& budget) {
  const std::string amount =
      needed < 1024 ? format_bytes(needed) : std::to_string(needed) + " bytes (" + format_bytes(needed) + ")";
  return what_needs + " " + amount + ", more than the " + format_bytes(budget.bytes) + " of memory available (" +
         budget.source + ")";
}

}  // namespace assignscope::io
