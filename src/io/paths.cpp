// Glob patterns expanded to the paths they match (glob(3)).
#include "io/paths.h"

#include <glob.h>

#include <filesystem>

#include <fmt/format.h>

namespace assignscope::io {
namespace fs = std::filesystem;

namespace {

bool has_glob_chars(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

// The paths a pattern matches, sorted; an error when none.
Result<std::vector<std::string>> expand_glob(const std::string& pattern) {
  glob_t found{};
  const int rc = ::glob(pattern.c_str(), 0, nullptr, &found);
  std::vector<std::string> paths;
  if (rc == 0)
    for (size_t i = 0; i < found.gl_pathc; ++i) paths.emplace_back(found.gl_pathv[i]);
  ::globfree(&found);
  if (paths.empty()) return Status::Io(fmt::format("{}: no such file or directory, and no path matches it", pattern));
  return paths;
}

}  // namespace

Result<std::vector<std::string>> expand_paths(const std::vector<std::string>& patterns) {
  std::vector<std::string> paths;
  for (const std::string& p : patterns) {
    std::error_code ec;
    if (!has_glob_chars(p) || fs::exists(p, ec)) {
      paths.push_back(p);
      continue;
    }
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto expanded, expand_glob(p));
    paths.insert(paths.end(), expanded.begin(), expanded.end());
  }
  return paths;
}

}  // namespace assignscope::io
