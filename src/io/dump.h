// Loading a dump (docs/format.md): find the container, read its fields,
// validate every one of them against the contract, and build the Batch.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/problem.h"
#include "core/status.h"
#include "io/npy.h"

namespace assignscope::io {

struct LoadOptions {
  // Replay inputs holding NaN / Inf instead of refusing them.
  bool allow_nonfinite = false;
  // Bytes reading one dump may take; 0: the memory available (io/memory.h).
  // Sizes a file declares are checked against it before anything is
  // allocated for them.
  uint64_t memory_limit = 0;
};

struct LoadedDump {
  Batch batch;
  std::vector<std::string> warnings;  // one line each: unknown fields, odd but legal values
};

// `path` is a directory of <field>.npy (+ meta.json), an .npz, a .json, a
// directory holding one .npz/.json (a golden case), or a directory of
// one-image dump directories (a batch, taken in name order).
// Errors name the file, the field, and what was expected.
Result<LoadedDump> load_dump(const std::string& path, const LoadOptions& options = {});

// The one-image dumps of a directory of dumps (its sub-directories that
// load_dump reads as the batch's images, in name order); empty when `path`
// is not such a directory. For callers that load them one by one.
std::vector<std::string> dump_dir_members(const std::string& path);

// Several dumps replayed together: each path as load_dump reads it, or a
// glob pattern (`*`, `?`, `[...]`, for shells that pass it unexpanded) that
// must match something. One path gives exactly load_dump's batch; several
// give one batch of all their images, named "<path>" (or "<path>/<image>"
// for a batch's images), in the order given.
Result<LoadedDump> load_dumps(const std::vector<std::string>& paths, const LoadOptions& options = {});

// The paths given, each glob pattern among them (one that names no existing
// path) replaced by its sorted matches; an error for a pattern matching
// nothing.
Result<std::vector<std::string>> expand_paths(const std::vector<std::string>& patterns);

// One field as read from a container, before validation.
struct RawField {
  NpyArray array;
  std::string origin;  // "case/priors.npy", "dump.npz:priors.npy", "dump.json:priors"
};

// A container's fields and meta, before validation.
struct RawDump {
  std::string origin;                      // the path, for messages about the whole dump
  std::map<std::string, RawField> fields;  // by field name
  nlohmann::json meta = nlohmann::json::object();
  std::string meta_origin;
  std::vector<std::string> warnings;
};

// The containers, exposed for tests and the fuzz targets (tests/fuzz/).
Result<RawDump> read_npy_dir(const std::string& dir, const LoadOptions& options = {});
Result<RawDump> read_npz(const std::string& path, const LoadOptions& options = {});
// An .npz already in memory: every member's .npy header is read (inflating
// only its first bytes) and checked against the size the archive declares
// before any member is inflated whole.
Result<RawDump> parse_npz(const std::vector<unsigned char>& bytes, const std::string& origin,
                          const LoadOptions& options = {});
Result<RawDump> read_json_dump(const std::string& path, const LoadOptions& options = {});
// Refused before parsing when the parsed text could outgrow the memory
// budget (json_parse_bytes).
Result<RawDump> parse_json_dump(const std::string& text, const std::string& origin, const LoadOptions& options = {});

// An upper bound of the memory parsing `text` takes, from one scan of it:
// the text, 64 bytes a value and 96 more a list or object. Parsing builds a
// DOM of 16-byte values in vectors that double their capacity (old and new
// buffers both live as they grow), the parser's own stacks, then 8 bytes a
// number of the array. Calibrated on 200 MiB texts (docs/reliability.md): a
// flat list of numbers takes 55 bytes a value; the bound is 13 % above that,
// and far above for nested lists.
uint64_t json_parse_bytes(const std::string& text);
// Memory one image of a batch takes besides its arrays (its Problem and its
// result), charged against the budget before a batch's images are built.
inline constexpr uint64_t kBytesPerImage = 4096;

// Validation and assembly of a Batch from raw fields.
Result<LoadedDump> build_batch(RawDump raw, const LoadOptions& options);

}  // namespace assignscope::io
