// Checking replays against stored results (golden cases, users' own
// regression suites): tolerance rules and a verdict per result.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/assignment.h"
#include "core/problem.h"
#include "core/status.h"
#include "io/npy.h"

namespace assignscope::analysis {

// Floats agree when |a - b| <= atol + rtol * |b| (b expected). Sentinels
// (0, -1, -1e5, -1e8) must be equal. Integer files must be identical.
struct Tolerance {
  double rtol = 1e-5;
  double atol = 1e-6;
};

// The golden cases' rule for a result file: 1e-5 relative (1e-6 absolute)
// for overlaps and metrics; 1e-3 relative for an OTA transport plan, whose
// 50 float32 Sinkhorn iterations accumulate reduction-order noise.
Tolerance default_tolerance(const std::string& file);

struct StoredResult {
  std::string dir;                            // expected/<label>
  nlohmann::json params;                      // params.json
  std::map<std::string, io::NpyArray> files;  // "assigned_gt_inds.npy" -> array
};

// Reads a result directory (a case's expected/<label>/, or what `assignscope
// run --format npy -o DIR` wrote): params.json, which must name the
// assigner, and every file its "files" lists (every .npy when it has none).
Result<StoredResult> read_stored(const std::string& dir);

// kUpdated: it differed and, as asked (CheckOptions::update), the stored
// files now hold the replay.
enum class Verdict { kMatch, kDiffer, kSkipped, kError, kUpdated };
const char* verdict_name(Verdict v);  // "ok", "DIFFER", "skip", "ERROR", "UPDATED"

struct FileCheck {
  std::string file;
  bool compared = false;
  int64_t differing = 0;   // elements that differ
  std::string detail;      // first differences, or why it was not compared
};

struct ResultCheck {
  std::string case_name;   // the case directory as given
  std::string label;       // expected/<label>
  std::string assigner;
  Verdict verdict = Verdict::kMatch;
  std::string detail;      // why skipped / the error / the first difference
  std::vector<FileCheck> files;
  int64_t images = 0;
  int64_t positives = 0;   // of the replay
};

struct CheckOptions {
  // Which tolerance a float file gets: its entry in `file_tolerance` (keyed
  // "max_overlaps.npy"), else `tolerance`, else default_tolerance(file).
  std::map<std::string, Tolerance> file_tolerance;
  std::optional<Tolerance> tolerance;
  bool allow_nonfinite = false;
  // Rewrite the stored files of a differing result with the replay's (each
  // file atomically; params.json and files the replay does not produce are
  // left as they are).
  bool update = false;
};

Tolerance tolerance_for(const std::string& file, const CheckOptions& options);

// Compares a replay (one Assignment per image) with a stored result.
ResultCheck compare(const StoredResult& expected, const Batch& batch, const std::vector<Assignment>& replay,
                    const CheckOptions& options);

// Replays every expected/<label>/ of a case directory (a dump with an
// expected/ folder), or the single result directory `path` when it holds a
// params.json naming its source dump. Errors only for an unreadable case
// layout; a bad dump or parameter becomes a kError result.
Result<std::vector<ResultCheck>> check_path(const std::string& path, const CheckOptions& options);

// The case or result directories under each path: a path is itself one, or
// a directory whose sub-directories are (searched one level deep). A glob
// pattern stands for the paths it matches (io::expand_paths).
Result<std::vector<std::string>> find_checkable(const std::vector<std::string>& paths);

struct CheckTotals {
  int64_t match = 0, differ = 0, skipped = 0, errors = 0, updated = 0;
  std::vector<std::string> skipped_assigners;  // unique, sorted
};
CheckTotals totals(const std::vector<ResultCheck>& results);

}  // namespace assignscope::analysis
