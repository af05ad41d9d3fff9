// Renderers: an assignment of a batch as a table, CSV, JSON, or the golden npy
// layout. Pure functions from values to text/bytes; cmd/ writes them.
#pragma once

#include <string>
#include <string_view>
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

// CSV for pandas.read_csv (RFC 4180, UTF-8: invalid bytes in names become
// U+FFFD): a header row, then one row per item of `table`; every cell one
// value (no lists packed into a string), empty where a value does not
// exist; every row ends with the `assigner` and one `param_<name>` column
// per parameter. docs/cli.md lists the columns.
enum class CsvTable {
  kGts,        // one row per (image, GT); an image without GT gets one row with the GT cells empty
  kImages,     // one row per image: its totals only, for large batches
  kPositives,  // one row per positive (prior, GT): level, centre, stride, IoU, cost terms
  kLost,       // one row per (image, GT, the GT or background that took its picks)
};
// "gts", "images", "positives", "lost"
const std::vector<std::string>& csv_table_names();
Result<CsvTable> csv_table(const std::string& name);
std::string csv(const Batch& batch, const std::vector<Assignment>& results, CsvTable table = CsvTable::kGts);

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

// JSON text of `j` (`indent` as nlohmann's dump). Strings that are not
// valid UTF-8 (a path's bytes) are written with U+FFFD in place of each bad
// byte instead of failing.
std::string json_text(const nlohmann::ordered_json& j, int indent = 1);

// `text` safe to print on a terminal, on one line: control characters (C0,
// DEL, C1 such as U+009B CSI) and bytes that are not UTF-8 become \xNN,
// bidirectional overrides and isolates (U+202E, ...) \uNNNN; the rest of
// UTF-8 is kept. So a directory name cannot move the cursor, set the
// terminal's title or clear the screen.
std::string for_terminal(std::string_view text);

// The length of the valid UTF-8 sequence at text[i] (1 to 4; no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0 when none starts there.
size_t utf8_length_at(std::string_view text, size_t i);

}  // namespace assignscope::render
