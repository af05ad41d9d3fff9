// Loading a dump (docs/format.md): find the container, read its fields
// (io/dump_containers.h), validate every one of them against the contract
// and build the Batch (io/dump_validation.h). Several dumps, or a glob
// pattern (io/paths.h), make one batch.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "io/dump_containers.h"
#include "io/dump_validation.h"
#include "io/paths.h"
#include "io/raw_dump.h"

namespace assignscope::io {

// `path` is a directory of <field>.npy (+ meta.json), an .npz, a .json, a
// directory holding one .npz/.json (a golden case), or a directory of
// one-image dump directories (a batch, taken in name order).
// Errors name the file, the field, and what was expected.
Result<LoadedDump> load_dump(const std::string& path, const LoadOptions& options = {});

// The one-image dumps of a directory of dumps (its sub-directories that
// load_dump reads as the batch's images, in name order); empty when `path`
// is not such a directory. For callers that load them one by one.
std::vector<std::string> dump_dir_members(const std::string& path);

// Every dump under `patterns`, for commands that read one at a time
// (`trend`): globs expanded (io/paths.h), and a directory of dumps replaced
// by its one-image dumps in name order, a directory of such directories
// (step-000500/<image>/) by theirs, up to 4 levels down. A path that is not
// a directory of dumps is kept as given (it is read, and fails, later).
Result<std::vector<std::string>> dump_units(const std::vector<std::string>& patterns);

// Several dumps replayed together: each path as load_dump reads it, or a
// glob pattern (`*`, `?`, `[...]`, for shells that pass it unexpanded) that
// must match something. One path gives exactly load_dump's batch; several
// give one batch of all their images, named "<path>" (or "<path>/<image>"
// for a batch's images), in the order given.
Result<LoadedDump> load_dumps(const std::vector<std::string>& paths, const LoadOptions& options = {});

}  // namespace assignscope::io
