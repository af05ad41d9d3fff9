// Renderers: an assignment of a batch as a table, CSV, JSON, or the golden npy
// layout. Pure functions from values to text/bytes; cmd/ writes them.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/assignment.h"
#include "core/problem.h"
#include "core/status.h"
#include "io/files.h"

namespace assignscope::render {

// Version of the JSON result schema (docs/cli.md). Bumped on any change that
// renames or removes a key; new keys may appear within a version.
inline constexpr const char* kResultSchema = "assignscope.result/1";

// Per-GT rows and a summary line per image; a batch summary for batches.
std::string table(const Batch& batch, const std::vector<Assignment>& results);

// The per-GT statistics as CSV: a header row, then one row per (image, GT),
// empty cells where a value does not exist (docs/cli.md lists the columns).
std::string csv(const Batch& batch, const std::vector<Assignment>& results);

struct JsonOptions {
  bool per_prior = false;   // dense per-prior arrays (assigned_gt_inds, ...)
  bool candidates = false;  // every candidate pair with its cost terms
};
nlohmann::ordered_json json(const Batch& batch, const std::vector<Assignment>& results, const JsonOptions& options);

// The golden expected/<label>/ layout: assigned_gt_inds.npy,
// assigned_labels.npy, max_overlaps.npy, dynamic_ks.npy (dynamic-k
// assigners) and params.json. A batch gets a leading B ([B, N], [B, Gmax]);
// its images must have the same N.
//
// params.json records the dumps replayed so that `assignscope check` can
// replay them again: `dumps` as the user gave them (several: one batch of
// all of them, recorded as "sources"; one: "source"; none: batch.source),
// each relative to `result_dir`, the directory the files are written to, so
// that a suite moved elsewhere still names its own dumps. Without a
// `result_dir`, absolute.
struct NpyProvenance {
  std::vector<std::string> dumps;
  std::string result_dir;
};
Result<std::vector<io::NamedBytes>> npy_layout(const Batch& batch, const std::vector<Assignment>& results,
                                               const std::string& reference, const NpyProvenance& where = {});

// A float as JSON with its shortest float32 spelling (0.8123457, not
// 0.8123456835746765).
nlohmann::ordered_json json_float(float v);

}  // namespace assignscope::render
