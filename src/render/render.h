// Renderers: an assignment of a batch as a table, CSV or JSON. Pure functions
// from values to text; cmd/ writes them. (The golden npy layout is
// io/result_layout.h: check and diff read it back.)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/assignment.h"
#include "core/problem.h"
#include "core/status.h"
#include "core/text.h"
#include "io/result_layout.h"

namespace assignscope::render {

// Version of the JSON result schema (docs/cli.md), io/result_layout.h: `diff`
// reads the JSON result back.
using io::kResultSchema;

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

// A float as JSON with its shortest float32 spelling (0.8123457, not
// 0.8123456835746765).
nlohmann::ordered_json json_float(float v);

// JSON text, U+FFFD for bytes that are not UTF-8 (core/text.h).
using ::assignscope::json_text;

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
