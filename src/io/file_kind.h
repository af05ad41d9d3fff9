// What a path is, without opening it: reading a FIFO blocks until a writer
// comes, a device never ends, a symbolic link may point at itself. The
// dump loader asks before it opens anything inside a dump.
#pragma once

#include <string>

namespace assignscope::io {

enum class FileKind {
  kMissing,
  kRegular,
  kDirectory,
  kFifo,
  kCharDevice,
  kBlockDevice,
  kSocket,
  kLinkLoop,
  kBrokenLink,
  kNoAccess,
  kOther,
};

// stat(2), following symbolic links.
FileKind file_kind(const std::string& path);

// "a FIFO", "a symbolic link loop", ... for messages.
const char* file_kind_name(FileKind kind);

}  // namespace assignscope::io
