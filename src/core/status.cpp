// Status formatting and the exit-code mapping.
#include "core/status.h"

namespace assignscope {

Status Status::WithContext(const std::string& where) const {
  if (ok() || where.empty()) return *this;
  return Status(kind_, where + ": " + message_);
}

int exit_code(const Status& s) {
  switch (s.kind()) {
    case ErrorKind::kOk: return 0;
    case ErrorKind::kUsage:
    case ErrorKind::kInvalidInput:
    case ErrorKind::kCorrupt:
    case ErrorKind::kUnsupported:
    case ErrorKind::kIo: return 2;
    case ErrorKind::kInternal: return 3;
  }
  return 3;
}

}  // namespace assignscope
