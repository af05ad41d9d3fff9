// Paths as users give them: glob patterns expanded for shells that pass
// them unexpanded.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace assignscope::io {

// The paths given, each glob pattern among them (one that names no existing
// path) replaced by its sorted matches; an error for a pattern matching
// nothing.
Result<std::vector<std::string>> expand_paths(const std::vector<std::string>& patterns);

}  // namespace assignscope::io
