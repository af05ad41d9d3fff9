// What a path is (file_kind.h).
#include "io/file_kind.h"

#include <sys/stat.h>

#include <cerrno>

namespace assignscope::io {

FileKind file_kind(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ELOOP) return FileKind::kLinkLoop;
    if (errno == EACCES) return FileKind::kNoAccess;
    struct stat link {};
    if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) return FileKind::kBrokenLink;
    return FileKind::kMissing;
  }
  if (S_ISREG(st.st_mode)) return FileKind::kRegular;
  if (S_ISDIR(st.st_mode)) return FileKind::kDirectory;
  if (S_ISFIFO(st.st_mode)) return FileKind::kFifo;
  if (S_ISCHR(st.st_mode)) return FileKind::kCharDevice;
  if (S_ISBLK(st.st_mode)) return FileKind::kBlockDevice;
  if (S_ISSOCK(st.st_mode)) return FileKind::kSocket;
  return FileKind::kOther;
}

const char* file_kind_name(FileKind kind) {
  switch (kind) {
    case FileKind::kMissing: return "missing";
    case FileKind::kRegular: return "a regular file";
    case FileKind::kDirectory: return "a directory";
    case FileKind::kFifo: return "a FIFO";
    case FileKind::kCharDevice: return "a character device";
    case FileKind::kBlockDevice: return "a block device";
    case FileKind::kSocket: return "a socket";
    case FileKind::kLinkLoop: return "a symbolic link loop";
    case FileKind::kBrokenLink: return "a symbolic link to nothing";
    case FileKind::kNoAccess: return "not accessible (permission denied)";
    case FileKind::kOther: return "not a regular file";
  }
  return "?";
}

}  // namespace assignscope::io
