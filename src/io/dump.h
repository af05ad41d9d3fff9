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

// The containers, exposed for tests.
Result<RawDump> read_npy_dir(const std::string& dir);
Result<RawDump> read_npz(const std::string& path);
Result<RawDump> read_json_dump(const std::string& path);
Result<RawDump> parse_json_dump(const std::string& text, const std::string& origin);

// Validation and assembly of a Batch from raw fields.
Result<LoadedDump> build_batch(RawDump raw, const LoadOptions& options);

}  // namespace assignscope::io
