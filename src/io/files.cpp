// Whole-file reads and temp-file-plus-rename writes.
#include "io/files.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <system_error>

namespace assignscope::io {
namespace fs = std::filesystem;

Result<std::vector<unsigned char>> read_file_bytes(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return Status::Io(path + ": is a directory, expected a file");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::Io(path + ": cannot open: " + std::strerror(errno));
  std::vector<unsigned char> bytes;
  unsigned char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.insert(bytes.end(), buf, buf + n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return Status::Io(path + ": read error");
  return bytes;
}

Result<std::string> read_file_text(const std::string& path) {
  auto bytes = read_file_bytes(path);
  if (!bytes.ok()) return bytes.status();
  return std::string(bytes->begin(), bytes->end());
}

namespace {

// Devices, FIFOs and sockets (/dev/null, /dev/stdout, a pipe) are streams:
// written in place, never replaced by a rename.
Status write_stream(const std::string& path, const void* bytes, size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Status::Io(path + ": cannot write: " + std::strerror(errno));
  const bool wrote = size == 0 || std::fwrite(bytes, 1, size, f) == size;
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !closed) return Status::Io(path + ": write failed");
  return Status();
}

}  // namespace

Status write_file_atomic(const std::string& path, const void* bytes, size_t size, bool overwrite) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (fs::exists(st) && !fs::is_regular_file(st) && !fs::is_directory(st)) return write_stream(path, bytes, size);
  if (fs::is_directory(st)) return Status::Usage(path + ": is a directory; expected a file name");
  if (!overwrite && fs::exists(st))
    return Status::Usage(path + ": exists; not overwriting it (pass --force to replace it)");
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::random_device rd;
  const fs::path tmp = dir / (".assignscope-" + std::to_string(rd()) + ".tmp");
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return Status::Io(path + ": cannot write: " + std::strerror(errno));
  const bool wrote = size == 0 || std::fwrite(bytes, 1, size, f) == size;
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !closed) {
    fs::remove(tmp, ec);
    return Status::Io(path + ": write failed (disk full?)");
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Status::Io(path + ": cannot rename the written file into place: " + ec.message());
  }
  return Status();
}

Status write_file_atomic(const std::string& path, const std::string& text, bool overwrite) {
  return write_file_atomic(path, text.data(), text.size(), overwrite);
}

Status write_directory_atomic(const std::string& dir, const std::vector<NamedBytes>& files, bool overwrite) {
  std::error_code ec;
  const fs::path target(dir);
  const bool exists = fs::exists(target, ec);
  if (exists) {
    if (!fs::is_directory(target, ec))
      return Status::Usage(dir + ": exists and is not a directory; not replacing it");
    if (!overwrite) return Status::Usage(dir + ": exists; not overwriting it (pass --force to replace it)");
    const bool empty = fs::is_empty(target, ec);
    if (!empty && !fs::exists(target / "params.json", ec))
      return Status::Usage(dir + ": exists and does not look like a result directory (no params.json); "
                                 "refusing to replace it even with --force");
  }
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec)) return Status::Io(dir + ": parent directory does not exist");
  std::random_device rd;
  const fs::path tmp = parent / (".assignscope-" + std::to_string(rd()) + ".tmpdir");
  fs::create_directory(tmp, ec);
  if (ec) return Status::Io(dir + ": cannot create a directory next to it: " + ec.message());
  for (const NamedBytes& f : files) {
    const Status st = write_file_atomic((tmp / f.name).string(), f.bytes.data(), f.bytes.size(), false);
    if (!st.ok()) {
      fs::remove_all(tmp, ec);
      return st;
    }
  }
  if (exists) fs::remove_all(target, ec);
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    return Status::Io(dir + ": cannot move the written directory into place: " + ec.message());
  }
  return Status();
}

}  // namespace assignscope::io
