// Zip archives as numpy writes them for .npz: stored and deflate members,
// zip64 records (np.savez forces zip64 local headers), CRC-checked.
//
// Reading is in two steps so a caller can look before it allocates: list the
// members (sizes as the central directory declares them, checked against the
// archive, against what deflate can produce and against a memory budget),
// then read members, or just their first bytes (an .npy header).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "io/memory.h"

namespace assignscope::io {

// Deflate produces at most 258 bytes from two bits (a length-258 match with
// one-bit codes for length and distance): 1032 to 1, plus block overhead.
inline constexpr uint64_t kMaxDeflateRatio = 1032;

struct ZipEntry {
  std::string name;     // as in the central directory, e.g. "priors.npy"
  uint16_t method = 0;  // 0 stored, 8 deflate
  uint32_t crc = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;  // declared; a member producing more or less is refused
  uint64_t data_offset = 0;        // of the compressed bytes, in the archive
};

struct ZipMember {
  std::string name;                 // as in the central directory, e.g. "priors.npy"
  std::vector<unsigned char> data;  // uncompressed bytes
};

// The members of an archive (directories left out), no member data touched.
// Errors: kCorrupt (no end-of-central-directory record, offsets outside the
// file, a deflate member declaring more than kMaxDeflateRatio times its
// compressed size), kUnsupported (encryption, compression methods other than
// stored (0) and deflate (8), multi-disk archives), kInvalidInput when the
// declared sizes together exceed `budget`. `origin` names the archive.
Result<std::vector<ZipEntry>> list_zip(const std::vector<unsigned char>& bytes, const std::string& origin,
                                       const MemoryBudget& budget = available_memory());

// One member's bytes, inflated incrementally: memory grows with what the
// data produces, never past the declared size. With `max_bytes` below the
// declared size only that many first bytes are produced (no CRC check);
// otherwise the whole member, which must inflate to exactly its declared
// size and match its CRC (kCorrupt otherwise).
Result<std::vector<unsigned char>> read_zip_member(const std::vector<unsigned char>& bytes, const ZipEntry& entry,
                                                   const std::string& origin, uint64_t max_bytes = UINT64_MAX);

// list_zip, then every member read whole.
Result<std::vector<ZipMember>> read_zip(const std::vector<unsigned char>& bytes, const std::string& origin,
                                        const MemoryBudget& budget = available_memory());

}  // namespace assignscope::io
