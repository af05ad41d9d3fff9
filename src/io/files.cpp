// Whole-file reads and temp-file-plus-rename writes.
#include "io/files.h"

#include <fcntl.h>  // AT_FDCWD
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <system_error>

#include <nlohmann/json.hpp>

namespace assignscope::io {
namespace fs = std::filesystem;

InputFile::InputFile(std::FILE* file, std::string path, bool size_known, uint64_t size)
    : file_(file), path_(std::move(path)), size_known_(size_known), size_(size) {}

InputFile::InputFile(InputFile&& other) noexcept
    : file_(other.file_), path_(std::move(other.path_)), size_known_(other.size_known_), size_(other.size_) {
  other.file_ = nullptr;
}

InputFile::~InputFile() {
  if (file_ != nullptr) std::fclose(file_);
}

Result<InputFile> open_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return Status::Io(path + ": is a directory, expected a file");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::Io(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  const bool regular = ::fstat(::fileno(f), &st) == 0 && S_ISREG(st.st_mode);
  return InputFile(f, path, regular, regular ? static_cast<uint64_t>(st.st_size) : 0);
}

Status InputFile::read_up_to(size_t n, std::vector<unsigned char>* bytes) {
  while (bytes->size() < n) {
    const size_t old = bytes->size();
    bytes->resize(n);
    const size_t got = std::fread(bytes->data() + old, 1, n - old, file_);
    bytes->resize(old + got);
    if (got == 0) break;
  }
  if (std::ferror(file_) != 0) return Status::Io(path_ + ": read error: " + std::strerror(errno));
  return Status();
}

Status InputFile::read_rest(const MemoryBudget& budget, std::vector<unsigned char>* bytes) {
  if (size_known_) {
    if (size_ > budget.bytes) return Status::InvalidInput(over_budget(path_ + ": the file needs", size_, budget));
    bytes->reserve(static_cast<size_t>(size_));
    ASSIGNSCOPE_RETURN_IF_ERROR(read_up_to(static_cast<size_t>(size_), bytes));
    const int next = std::fgetc(file_);
    if (next == EOF) return std::ferror(file_) != 0 ? Status::Io(path_ + ": read error") : Status();
    bytes->push_back(static_cast<unsigned char>(next));  // the file grew while being read
  }
  // A pipe or device, or a file that grew: in chunks, never past the budget.
  constexpr size_t kChunk = size_t{1} << 20;
  const uint64_t cap = budget.bytes == UINT64_MAX ? budget.bytes : budget.bytes + 1;
  for (;;) {
    const auto target = static_cast<size_t>(std::min<uint64_t>(bytes->size() + kChunk, cap));
    ASSIGNSCOPE_RETURN_IF_ERROR(read_up_to(target, bytes));
    if (bytes->size() > budget.bytes)
      return Status::InvalidInput(over_budget(path_ + ": the file needs at least", bytes->size(), budget));
    if (bytes->size() < target) return Status();
  }
}

Result<std::vector<unsigned char>> read_file_bytes(const std::string& path, const MemoryBudget& budget) {
  auto file = open_file(path);
  if (!file.ok()) return file.status();
  std::vector<unsigned char> bytes;
  ASSIGNSCOPE_RETURN_IF_ERROR(file->read_rest(budget, &bytes));
  return bytes;
}

Result<std::string> read_file_text(const std::string& path, const MemoryBudget& budget) {
  auto bytes = read_file_bytes(path, budget);
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

// Moves `from` onto `to`. Without `overwrite` the move fails if `to` exists,
// atomically (renameat2 RENAME_NOREPLACE), so a file that appeared after the
// check above is not replaced either; file systems without that flag fall
// back to the check.
std::error_code move_into_place(const fs::path& from, const fs::path& to, bool overwrite) {
  std::error_code ec;
  if (!overwrite) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return ec;
    if (errno != EINVAL && errno != ENOSYS) return std::error_code(errno, std::generic_category());
    if (fs::exists(to, ec)) return std::make_error_code(std::errc::file_exists);
  }
  fs::rename(from, to, ec);
  return ec;
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
  ec = move_into_place(tmp, target, overwrite);
  if (ec) {
    const bool appeared = ec == std::errc::file_exists;
    const std::string why = ec.message();
    fs::remove(tmp, ec);
    if (appeared) return Status::Usage(path + ": exists; not overwriting it (pass --force to replace it)");
    return Status::Io(path + ": cannot rename the written file into place: " + why);
  }
  return Status();
}

Status write_file_atomic(const std::string& path, const std::string& text, bool overwrite) {
  return write_file_atomic(path, text.data(), text.size(), overwrite);
}

namespace {

// The directory as the user means it: absolute, normalised, no trailing separator.
fs::path normal_target(const std::string& dir) {
  std::error_code ec;
  fs::path p = fs::absolute(dir, ec).lexically_normal();
  while (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
  return p;
}

// `ancestor` is `p` or one of its parents.
bool contains(const fs::path& ancestor, const fs::path& p) {
  auto a = ancestor.begin();
  for (auto it = p.begin(); a != ancestor.end() && it != p.end(); ++a, ++it)
    if (*a != *it) return false;
  return a == ancestor.end();
}

// A directory `--force` may replace: empty, or a result an earlier `run`
// wrote (params.json says "produced_by": "assignscope ..." and nothing but
// .npy files, params.json and notes.json is inside). Golden references do not
// qualify.
bool replaceable(const fs::path& dir, std::string* why) {
  std::error_code ec;
  if (fs::is_empty(dir, ec)) return true;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const fs::path name = e.path().filename();
    if (!e.is_regular_file() || (name != "params.json" && name != "notes.json" && name.extension() != ".npy")) {
      *why = "it holds " + name.string() + ", which assignscope does not write";
      return false;
    }
  }
  auto text = read_file_text((dir / "params.json").string());
  const nlohmann::json j = text.ok() ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
  const bool ours = j.is_object() && j.contains("produced_by") && j["produced_by"].is_string() &&
                    j["produced_by"].get<std::string>().rfind("assignscope", 0) == 0;
  if (!ours) *why = "its params.json was not written by assignscope";
  return ours;
}

std::string temp_name(const char* suffix) {
  std::random_device rd;
  return ".assignscope-" + std::to_string(rd()) + suffix;
}

}  // namespace

Status write_directory_atomic(const std::string& dir, const std::vector<NamedBytes>& files, bool overwrite) {
  std::error_code ec;
  const fs::path target = normal_target(dir);
  const fs::path cwd = fs::current_path(ec).lexically_normal();
  if (target == target.root_path() || contains(target, cwd))
    return Status::Usage(dir + ": is the current directory or one of its parents; name a new directory for the result");
  const bool exists = fs::exists(target, ec);
  if (exists) {
    if (!fs::is_directory(target, ec))
      return Status::Usage(dir + ": exists and is not a directory; not replacing it");
    if (!overwrite) return Status::Usage(dir + ": exists; not overwriting it (pass --force to replace it)");
    std::string why;
    if (!replaceable(target, &why))
      return Status::Usage(dir + ": exists and is not a previous assignscope result (" + why +
                           "); refusing to replace it even with --force");
  }
  const fs::path parent = target.parent_path();
  if (!fs::is_directory(parent, ec)) return Status::Io(dir + ": the directory " + parent.string() + " does not exist");
  const fs::path tmp = parent / temp_name(".tmpdir");
  fs::create_directory(tmp, ec);
  if (ec) return Status::Io(dir + ": cannot create a directory next to it: " + ec.message());
  for (const NamedBytes& f : files) {
    const Status st = write_file_atomic((tmp / f.name).string(), f.bytes.data(), f.bytes.size(), false);
    if (!st.ok()) {
      fs::remove_all(tmp, ec);
      return st;
    }
  }
  // Swap: the old result moves aside, the new one in, and only then is the
  // old one deleted, so a failure at any point leaves one of them in place.
  const fs::path backup = parent / temp_name(".old");
  if (exists) {
    fs::rename(target, backup, ec);
    if (ec) {
      const std::string why = ec.message();
      fs::remove_all(tmp, ec);
      return Status::Io(dir + ": cannot move the previous result aside: " + why);
    }
  }
  ec = move_into_place(tmp, target, /*overwrite=*/false);  // the old one, if any, was moved aside
  if (ec) {
    const std::string why = ec.message();
    if (exists) fs::rename(backup, target, ec);
    fs::remove_all(tmp, ec);
    return Status::Io(dir + ": cannot move the written directory into place: " + why);
  }
  if (exists) fs::remove_all(backup, ec);
  return Status();
}

}  // namespace assignscope::io
