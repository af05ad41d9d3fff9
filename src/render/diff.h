// Rendering a diff of two assignments (analysis/diff.h): the text people
// read and the JSON scripts read (schema assignscope.diff/1, docs/cli.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/diff.h"
#include "analysis/fail_condition.h"

namespace assignscope::render {

// Bumped on any change that renames or removes a key; new keys may appear.
inline constexpr const char* kDiffSchema = "assignscope.diff/1";

// Per image: the agreement line, the GTs that differ (worst Jaccard first)
// and the first `top` flipped priors; a batch adds a closing line.
std::string diff_table(const analysis::BatchDiff& diff, int64_t top);

// Every GT row and every flipped prior; `conditions` as evaluated.
nlohmann::ordered_json diff_json(const analysis::BatchDiff& diff,
                                 const std::vector<analysis::ConditionResult>& conditions);

// "99.7 %": one decimal, more when one would round a difference away.
std::string percent(int64_t part, int64_t whole);

}  // namespace assignscope::render
