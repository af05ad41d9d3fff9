// A dump's raw fields validated against the contract (docs/format.md) and
// assembled into a Batch: errors name the file, the field and the element.
#pragma once

#include <cstdint>

#include "io/raw_dump.h"

namespace assignscope::io {

// Memory one image of a batch takes besides its arrays (its Problem and its
// result), charged against the budget before a batch's images are built.
inline constexpr uint64_t kBytesPerImage = 4096;

// Validation and assembly of a Batch from raw fields.
Result<LoadedDump> build_batch(RawDump raw, const LoadOptions& options);

}  // namespace assignscope::io
