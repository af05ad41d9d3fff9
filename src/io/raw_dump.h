// A dump between its loading phases (docs/format.md): the options every
// phase reads, a container's fields as read (RawDump, io/dump_containers.h),
// and the validated Batch (LoadedDump, io/dump_validation.h).
#pragma once

#include <map>
#include <new>
#include <optional>
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
  std::optional<EncodedImage> image;  // image.png / image.jpg, its header read (io/image_header.h)
  std::vector<std::string> warnings;
};

}  // namespace assignscope::io
