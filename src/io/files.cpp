// Whole-file reads and temp-file-plus-rename writes.
#include "io/files.h"

#include "io/file_kind.h"

#include <fcntl.h>  // AT_FDCWD
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <system_error>
#include <thread>

#include <fmt/format.h>

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
  ASSIGNSCOPE_ASSIGN_OR_RETURN(InputFile file, open_file(path));
  std::vector<unsigned char> bytes;
  ASSIGNSCOPE_RETURN_IF_ERROR(file.read_rest(budget, &bytes));
  return bytes;
}

Result<std::string> read_file_text(const std::string& path, const MemoryBudget& budget) {
  ASSIGNSCOPE_ASSIGN_OR_RETURN(const std::vector<unsigned char> bytes, read_file_bytes(path, budget));
  return std::string(bytes.begin(), bytes.end());
}

namespace {

// Writes every byte to an open descriptor (a short write or EINTR is retried).
bool write_all(int fd, const void* bytes, size_t size) {
  const auto* p = static_cast<const char*>(bytes);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// One of this process's standard streams, written where it already points:
// no truncation (a `>>` redirection keeps what it held), no rename.
Status write_standard_stream(int fd, const std::string& path, const void* bytes, size_t size) {
  if (fd == STDOUT_FILENO && std::fflush(stdout) != 0) return Status::Io(path + ": cannot write to stdout");
  if (!write_all(fd, bytes, size))
    return Status::Io(path + ": cannot write to " + (fd == STDOUT_FILENO ? "stdout" : "stderr") + ": " +
                      std::strerror(errno));
  return Status();
}

// The standard stream (1 or 2) that `st` is the file of, or -1.
int standard_stream_of(const struct stat& st) {
  for (int fd : {STDOUT_FILENO, STDERR_FILENO}) {
    struct stat open {};
    if (::fstat(fd, &open) == 0 && open.st_dev == st.st_dev && open.st_ino == st.st_ino) return fd;
  }
  return -1;
}

// How long a FIFO's reader may take to open it (`mkfifo p; assignscope run
// ... -o p & reader < p`) before the write is given up: no reader must not
// hang the run.
constexpr auto kFifoReaderWait = std::chrono::seconds(10);

// Character devices and FIFOs (/dev/null, /dev/tty, a named pipe) are
// streams: written in place, never replaced by a rename. A FIFO is opened
// without blocking, retried while no process reads it, then refused.
Status write_stream(const std::string& path, bool fifo, const void* bytes, size_t size) {
  int fd = -1;
  const auto deadline = std::chrono::steady_clock::now() + kFifoReaderWait;
  for (;;) {
    fd = ::open(path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC | (fifo ? O_NONBLOCK : 0));
    if (fd >= 0 || !fifo || errno != ENXIO) break;
    if (std::chrono::steady_clock::now() >= deadline)
      return Status::Io(fmt::format("{}: is a FIFO that no process opened for reading within {} s; nothing written",
                                    path, kFifoReaderWait.count()));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (fd < 0) return Status::Io(path + ": cannot write: " + std::strerror(errno));
  if (fifo) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  const bool wrote = write_all(fd, bytes, size);
  const int write_errno = errno;
  const bool closed = ::close(fd) == 0;
  if (!wrote) return Status::Io(path + ": write failed: " + std::strerror(write_errno));
  if (!closed) return Status::Io(path + ": write failed");
  return Status();
}

// Moves `from` onto `to`. Without `overwrite` the move fails if `to` exists,
// atomically (renameat2 RENAME_NOREPLACE), so a file that appeared after the
// check above is not replaced either; file systems without that flag fall
// back to the check. With `overwrite` only a regular file is replaced: a
// symbolic link, device or directory that appeared meanwhile is refused
// (kNotReplaceable).
enum class Move { kOk, kExists, kNotReplaceable, kFailed };
Move move_into_place(const fs::path& from, const fs::path& to, bool overwrite, std::error_code* ec) {
  ec->clear();
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return Move::kOk;
  if (errno != EEXIST && errno != EINVAL && errno != ENOSYS) {
    *ec = std::error_code(errno, std::generic_category());
    return Move::kFailed;
  }
  struct stat st {};
  if (::lstat(to.c_str(), &st) == 0) {
    if (!overwrite) return Move::kExists;
    if (!S_ISREG(st.st_mode)) return Move::kNotReplaceable;
  }
  fs::rename(from, to, *ec);
  return *ec ? Move::kFailed : Move::kOk;
}

}  // namespace

Status write_file_atomic(const std::string& path, const void* bytes, size_t size, bool overwrite) {
  if (path == "-") return write_standard_stream(STDOUT_FILENO, "-", bytes, size);
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;  // through symbolic links
  if (exists) {
    // /dev/stdout, /proc/self/fd/1, or the file stdout is redirected to.
    if (const int fd = standard_stream_of(st); fd >= 0) return write_standard_stream(fd, path, bytes, size);
    if (S_ISDIR(st.st_mode)) return Status::Usage(path + ": is a directory; expected a file name");
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) return write_stream(path, S_ISFIFO(st.st_mode), bytes, size);
    // A block device is a disk: text written into it would damage what it holds.
    if (!S_ISREG(st.st_mode))
      return Status::Usage(fmt::format("{}: is {}; expected a file, a character device or a FIFO", path,
                                       file_kind_name(file_kind(path))));
    if (!overwrite) return Status::Usage(path + ": exists; not overwriting it (pass --force to replace it)");
  } else {
    const FileKind kind = file_kind(path);
    if (kind == FileKind::kLinkLoop || kind == FileKind::kBrokenLink)
      return Status::Usage(
          fmt::format("{}: is {}; not replacing the link (name the file itself)", path, file_kind_name(kind)));
    if (kind == FileKind::kNoAccess) return Status::Io(path + ": cannot write: permission denied");
  }
  // A symbolic link to a file: the file it names is replaced, the link stays.
  std::error_code ec;
  const fs::path target = exists ? fs::canonical(path, ec) : fs::path(path);
  if (ec) return Status::Io(path + ": cannot resolve it: " + ec.message());
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
  const Move moved = move_into_place(tmp, target, overwrite, &ec);
  if (moved == Move::kOk) return Status();
  const std::string why = ec.message();
  fs::remove(tmp, ec);
  if (moved == Move::kExists) return Status::Usage(path + ": exists; not overwriting it (pass --force to replace it)");
  if (moved == Move::kNotReplaceable)
    return Status::Usage(path + ": appeared meanwhile as a link, device or directory; not replacing it");
  return Status::Io(path + ": cannot rename the written file into place: " + why);
}

Status write_file_atomic(const std::string& path, const std::string& text, bool overwrite) {
  return write_file_atomic(path, text.data(), text.size(), overwrite);
}

namespace {

// The directory as the user means it: absolute, normalised, no trailing
// separator, symbolic links resolved (a link to the current directory is the
// current directory; a link to a result names that result, and the link
// itself is never replaced).
fs::path normal_target(const std::string& dir) {
  std::error_code ec;
  fs::path p = fs::absolute(dir, ec).lexically_normal();
  while (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
  const fs::path resolved = fs::weakly_canonical(p, ec);
  if (!ec) p = resolved.lexically_normal();
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
  if (dir == "-") return Status::Usage("-: a directory of files cannot go to stdout; name a directory");
  const fs::path target = normal_target(dir);
  if (const FileKind kind = file_kind(dir); kind == FileKind::kLinkLoop || kind == FileKind::kBrokenLink)
    return Status::Usage(
        fmt::format("{}: is {}; not replacing the link (name the directory itself)", dir, file_kind_name(kind)));
  if (fs::is_symlink(target, ec))  // still a link once resolved: it leads nowhere
    return Status::Usage(dir + ": is a symbolic link to nothing; not replacing the link (name the directory itself)");
  const fs::path cwd = fs::current_path(ec).lexically_normal();
  if (target == target.root_path() || contains(target, cwd))
    return Status::Usage(dir + ": is the current directory or one of its parents; name a new directory for the result");
  const bool exists = fs::exists(target, ec);
  if (exists) {
    if (!fs::is_directory(target, ec)) return Status::Usage(dir + ": exists and is not a directory; not replacing it");
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
    Status st = write_file_atomic((tmp / f.name).string(), f.bytes.data(), f.bytes.size(), false);
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
  // The old one, if any, was moved aside.
  if (move_into_place(tmp, target, /*overwrite=*/false, &ec) != Move::kOk) {
    if (!ec) ec = std::make_error_code(std::errc::file_exists);
    const std::string why = ec.message();
    if (exists) fs::rename(backup, target, ec);
    fs::remove_all(tmp, ec);
    return Status::Io(dir + ": cannot move the written directory into place: " + why);
  }
  if (exists) fs::remove_all(backup, ec);
  return Status();
}

}  // namespace assignscope::io
