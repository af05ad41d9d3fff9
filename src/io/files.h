// Whole-file reads and crash-safe writes. The only place that talks to the
// file system for bytes; everything above works on buffers.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace assignscope::io {

Result<std::vector<unsigned char>> read_file_bytes(const std::string& path);
Result<std::string> read_file_text(const std::string& path);

// Writes `bytes` to `path` through a temporary file in the same directory and
// a rename, so a failure never leaves a half-written file. Refuses to replace
// an existing file unless `overwrite`. Devices and FIFOs (/dev/null,
// /dev/stdout) are written in place.
Status write_file_atomic(const std::string& path, const void* bytes, size_t size, bool overwrite);
Status write_file_atomic(const std::string& path, const std::string& text, bool overwrite);

struct NamedBytes {
  std::string name;  // file name inside a directory
  std::vector<unsigned char> bytes;
};

// Writes a directory of files through a temporary sibling directory and a
// rename. An existing `dir` is replaced only when `overwrite` is set and it is
// empty or a previous assignscope result (only .npy files and a params.json
// whose "produced_by" names assignscope); anything else is refused, as are
// the current directory and its parents. The old result is moved aside
// before the new one moves in, and deleted last.
Status write_directory_atomic(const std::string& dir, const std::vector<NamedBytes>& files, bool overwrite);

}  // namespace assignscope::io
