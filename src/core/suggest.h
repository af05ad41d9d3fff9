// "Did you mean": the closest known name to a mistyped one.
#pragma once

#include <string>
#include <vector>

namespace assignscope {

// Edit (Levenshtein) distance.
size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `typed` when it is close enough to be a typo
// (distance <= max(2, len/3)), else "".
std::string closest_name(const std::string& typed, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(const std::string& typed, const std::vector<std::string>& candidates);

}  // namespace assignscope
