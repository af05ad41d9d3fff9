// A dump's containers read into raw fields, before validation: a directory
// of <field>.npy (+ meta.json), an .npz, a .json (docs/format.md). Sizes
// are checked against the memory budget before anything is allocated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "io/raw_dump.h"

namespace assignscope::io {

// A dump directory holds a dozen files, a directory of dumps its images:
// more entries than this is neither.
inline constexpr size_t kMaxDirEntries = 100000;

// Each container, also for tests and the fuzz targets (tests/fuzz/).
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
}  // namespace assignscope::io
