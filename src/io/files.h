// Whole-file reads and crash-safe writes. The only place that talks to the
// file system for bytes; everything above works on buffers.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "core/status.h"
#include "io/memory.h"

namespace assignscope::io {

// An open file read in steps (a header, then the rest), so a size a header
// declares can be checked before the bytes are. A regular file's size is
// known up front; a pipe's or device's only at its end.
class InputFile {
 public:
  InputFile(std::FILE* file, std::string path, bool size_known, uint64_t size);
  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&& other) = delete;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();

  bool size_known() const { return size_known_; }
  uint64_t size() const { return size_; }  // 0 when not known

  // Appends bytes until `bytes` holds `n` or the file ends.
  Status read_up_to(size_t n, std::vector<unsigned char>* bytes);
  // Appends the rest of the file; refused (kInvalidInput) before reading
  // when the whole file would need more than `budget`.
  Status read_rest(const MemoryBudget& budget, std::vector<unsigned char>* bytes);

 private:
  std::FILE* file_;
  std::string path_;
  bool size_known_;
  uint64_t size_;
};

Result<InputFile> open_file(const std::string& path);

// Whole-file reads, refused before reading when the file is larger than `budget`.
Result<std::vector<unsigned char>> read_file_bytes(const std::string& path,
                                                   const MemoryBudget& budget = available_memory());
Result<std::string> read_file_text(const std::string& path, const MemoryBudget& budget = available_memory());

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
// empty or a previous assignscope result (only .npy files, a notes.json and a
// params.json whose "produced_by" names assignscope); anything else is refused, as are
// the current directory and its parents. The old result is moved aside
// before the new one moves in, and deleted last.
Status write_directory_atomic(const std::string& dir, const std::vector<NamedBytes>& files, bool overwrite);

}  // namespace assignscope::io
