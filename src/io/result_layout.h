// The stored-result layout, written and read in one place: what `assignscope
// run --format npy -o DIR` writes, what a golden case keeps in
// expected/<label>/, and what `check` and `diff` read back.
//
// One image: assigned_gt_inds / assigned_labels / max_overlaps [N], and
// when the assigner has them dynamic_ks [G], assign_metrics(_raw) [N],
// bbox_targets [N, 4], soft_labels / soft_weights [N] (O2F), transport_plan
// [G + 1, N], matches [M, 2] as (prior, gt). A batch adds a leading B: per-GT results are padded to the
// batch's GT columns with 0 (a transport plan with zero rows before each
// image's background row), and matches become [M, 3] as (image, prior, gt).
// Beside them: params.json (what was replayed, and from which dumps,
// relative to the result directory) and notes.json (the replay's notes and
// warnings per image).
//
// `diff` also reads the JSON result (schema kResultSchema, written by
// render::json with --include priors); its reader is here with the npy one.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/assignment.h"
#include "core/problem.h"
#include "core/status.h"
#include "io/files.h"
#include "io/npy.h"

namespace assignscope::io {

// Version of the JSON result schema (docs/cli.md). Bumped on any change that
// renames or removes a key; new keys may appear within a version.
inline constexpr const char* kResultSchema = "assignscope.result/1";

// At most this many dumps in a result directory's "sources": a params.json
// of a few megabytes must not make check read a dump a million times. The
// writer refuses to record more.
constexpr size_t kMaxSources = 10000;

// ---------------------------------------------------------------------------
// Writing.

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
Result<std::vector<NamedBytes>> npy_layout(const Batch& batch, const std::vector<Assignment>& results,
                                           const std::string& reference, const NpyProvenance& where = {});

// Rewrites the files `changed` of the result directory `dir`, all or
// nothing: a copy of the directory with the new files is built beside it,
// then swapped in with one rename (renameat2 RENAME_EXCHANGE; where the file
// system lacks it, the old one moves aside first and back on failure). The
// old directory is deleted last. Files not in `changed` are kept as they are.
Status rewrite_result(const std::string& dir, const std::vector<NamedBytes>& changed);

// ---------------------------------------------------------------------------
// Reading, for `check`.

struct StoredResult {
  std::string dir;                        // expected/<label>
  nlohmann::json params;                  // params.json
  std::map<std::string, NpyArray> files;  // "assigned_gt_inds.npy" -> array
};

// Reads a result directory (a case's expected/<label>/, or what `assignscope
// run --format npy -o DIR` wrote): params.json, which must name the
// assigner, and every file its "files" lists (every .npy when it has none).
Result<StoredResult> read_stored(const std::string& dir);

struct NamedDumps {
  std::vector<std::string> shown;     // as paths from here, for messages and the output
  std::vector<std::string> resolved;  // absolute, to read
};

// The dumps a result directory's params.json (`j`) names: "sources" (a list,
// at most kMaxSources) or "source", each relative to the result directory
// unless absolute. An error says what is wrong with params.json or the path.
Result<NamedDumps> named_dumps(const std::string& result_dir, const nlohmann::json& j);

// ---------------------------------------------------------------------------
// Reading, for `diff`: a stored result as assignments.

// What a stored result knows about an image besides its assignment.
struct StoredImage {
  std::string name;
  int64_t num_priors = 0;
  int64_t num_gts = -1;                        // -1: unknown (npy results carry no GTs)
  std::vector<int64_t> gt_labels;              // [num_gts] when known
  std::vector<std::array<float, 4>> gt_boxes;  // [num_gts] when known
};

struct StoredReplay {
  std::string path;                                  // as given
  nlohmann::json assigner;                           // as stored: a string, or null when absent
  nlohmann::json params = nlohmann::json::object();  // as stored
  bool batch = false;
  std::vector<StoredImage> images;
  std::vector<Assignment> assignments;  // gt_inds, labels, dynamic_ks, matches; no candidates
};

// A result directory (params.json + assigned_gt_inds.npy ...; also a golden
// case's expected/<label>/) or a JSON result written with --include priors.
// Errors (kInvalidInput) say what `path` is instead: a case, a dump, another
// JSON.
Result<StoredReplay> read_replay(const std::string& path);

}  // namespace assignscope::io
