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
#include "io/result_layout.h"

namespace assignscope::analysis {

// Floats agree when |a - b| <= atol + rtol * |b| (b expected). Sentinels
// (0, -1, -1e5, -1e8) must be equal. Integer files must be identical.
struct Tolerance {
  double rtol = 1e-5;
  double atol = 1e-6;
};

// The golden cases' rule for a result file: 1e-5 relative (1e-6 absolute)
// for overlaps and metrics; 1e-3 relative for an OTA transport plan, whose
// 50 float32 Sinkhorn iterations accumulate reduction-order noise; 1e-5
// absolute for yolov7's match_ious; 1e-6 relative (1e-5 absolute) for
// bbox_targets (one float32 subtraction of pixel coordinates); O2F's
// soft_weights exactly.
Tolerance default_tolerance(const std::string& file);

// kUpdated: it differed and, as asked (CheckOptions::update), the stored
// files now hold the replay.
enum class Verdict { kMatch, kDiffer, kSkipped, kError, kUpdated };
const char* verdict_name(Verdict v);  // "ok", "DIFFER", "skip", "ERROR", "UPDATED"

struct FileCheck {
  std::string file;
  bool compared = false;
  int64_t differing = 0;  // elements that differ
  std::string detail;     // first differences, or why it was not compared
};

struct ResultCheck {
  std::string case_name;  // the case directory as given
  std::string label;      // expected/<label>
  std::string assigner;
  Verdict verdict = Verdict::kMatch;
  std::string detail;  // why skipped / the error / the first difference
  std::vector<FileCheck> files;
  int64_t images = 0;
  int64_t positives = 0;  // of the replay
  // The dumps replayed: the case directory, or the dumps a result directory's
  // params.json names ("source" / "sources", resolved against the result
  // directory; `from_params` then), as paths from where check runs.
  std::vector<std::string> dumps;
  bool from_params = false;
  int64_t files_compared() const;
};

struct CheckOptions {
  // Which tolerance a float file gets: its entry in `file_tolerance` (keyed
  // "max_overlaps.npy"), else `tolerance`, else default_tolerance(file).
  std::map<std::string, Tolerance> file_tolerance;
  std::optional<Tolerance> tolerance;
  bool allow_nonfinite = false;
  // Rewrite the stored files of a differing result with the replay's, all or
  // nothing: the result directory is rebuilt beside itself and swapped in
  // with one rename, so a failure leaves it exactly as it was. params.json
  // and files the replay does not produce are kept as they are.
  bool update = false;
};

Tolerance tolerance_for(const std::string& file, const CheckOptions& options);

// Compares a replay (one Assignment per image) with a stored result. A float
// file is compared as numbers whatever dtype it was stored with (an integer
// dtype never truncates the replay); an integer file exactly. A stored text
// dtype is an error, and so is a result of which no file could be compared.
ResultCheck compare(const io::StoredResult& expected, const Batch& batch, const std::vector<Assignment>& replay,
                    const CheckOptions& options);

// Replays every expected/<label>/ of a case directory (a dump with an
// expected/ folder), or the single result directory `path` when it holds a
// params.json naming its source dump(s) relative to itself (absolute paths,
// which older versions wrote, are read as they are). Errors only for an
// unreadable case layout; a bad or missing dump or parameter becomes a kError
// result, an assigner or head loss assignscope does not have a kSkipped one
// (with "did you mean" for a near miss).
Result<std::vector<ResultCheck>> check_path(const std::string& path, const CheckOptions& options);

// Bounds on searching a suite: how deep below a path given, how many
// directories and how many entries in all. Beyond them the search stops with
// an error rather than run away (a bind-mount loop, `check /`).
struct SearchLimits {
  int max_depth = 32;
  int64_t max_directories = 100000;
  int64_t max_entries = 1000000;
};

struct SuiteSearch {
  // Case and result directories, each once (a directory reached again through
  // a symlink is not checked twice), in path order per path given.
  std::vector<std::string> checkable;
  // Directories searched that are neither a case nor a result, nor inside
  // one (the containers of a suite: `testdata`, `testdata/golden`).
  int64_t not_cases = 0;
  // Hidden directories (.git, an interrupted write's temporary) not searched.
  int64_t hidden = 0;
};

// Every case and result directory under each path, at any depth (a glob
// pattern stands for the paths it matches, io::expand_paths). Directories
// inside a case's expected/ folder are its results, not cases of their own.
// Everything met on the way must be a regular file or a directory (or a
// symlink to one): a FIFO, socket or device, a dangling symlink, a symlink
// loop, an unreadable directory, a name that is not UTF-8, or passing a
// limit is an error naming the path. A path holding no case is an error.
Result<SuiteSearch> search_suite(const std::vector<std::string>& paths, const SearchLimits& limits = {});

// search_suite(paths).checkable.
Result<std::vector<std::string>> find_checkable(const std::vector<std::string>& paths);

// The same walk over the dumps a result names, before they are read: only
// files, directories and symlinks to them, within the limits (in total: a
// dump named twice is walked once).
Status validate_tree(const std::vector<std::string>& paths, const SearchLimits& limits = {});

struct CheckTotals {
  int64_t results = 0;
  int64_t match = 0, differ = 0, skipped = 0, errors = 0, updated = 0;
  int64_t compared = 0;                        // results compared: match + differ + updated
  int64_t files_compared = 0;                  // files compared in those
  int64_t dumps_replayed = 0;                  // distinct dumps replayed for them
  std::vector<std::string> skipped_assigners;  // unique, sorted
};
CheckTotals totals(const std::vector<ResultCheck>& results);

// A run passes only when it compared something, nothing differs, nothing
// errs, and nothing was skipped (unless allowed). Exit code 0 on a pass; 2
// for errors, skipped results not allowed, or nothing compared; else 1.
struct RunVerdict {
  bool pass = false;
  int exit_code = 2;
};
RunVerdict run_verdict(const CheckTotals& totals, bool allow_skipped);

// The last line of `assignscope check`: PASS or FAIL, then exactly what was
// compared (results, files, cases, dumps replayed), the counts, what was
// skipped, the directories searched that were not cases, and why it failed.
std::string summary_line(const CheckTotals& totals, int64_t cases, const SuiteSearch& search, bool allow_skipped);

}  // namespace assignscope::analysis
