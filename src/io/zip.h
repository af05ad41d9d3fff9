// Zip archives as numpy writes them for .npz: stored and deflate members,
// zip64 records (np.savez forces zip64 local headers), CRC-checked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace assignscope::io {

struct ZipMember {
  std::string name;                  // as in the central directory, e.g. "priors.npy"
  std::vector<unsigned char> data;   // uncompressed bytes
};

struct ZipLimits {
  // A member that declares (or inflates to) more than this is refused before
  // the bytes are allocated.
  uint64_t max_member_bytes = uint64_t{8} << 30;
  uint64_t max_total_bytes = uint64_t{16} << 30;
};

// Reads every member. `origin` names the archive in errors. Errors: kCorrupt
// (no end-of-central-directory record, offsets outside the file, CRC or size
// mismatch, inflate failure), kUnsupported (encryption, compression methods
// other than stored (0) and deflate (8), multi-disk archives), kInvalidInput
// for members over the limits.
Result<std::vector<ZipMember>> read_zip(const std::vector<unsigned char>& bytes,
                                        const std::string& origin,
                                        const ZipLimits& limits = {});

}  // namespace assignscope::io
