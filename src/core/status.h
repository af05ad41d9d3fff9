// Errors as values: a Status says what failed, where, and what was expected.
//
// The numeric core never throws; functions that can fail return a Status or a
// Result<T>. Only cmd/ turns a Status into an exit code (see exit_code()).
// Both are [[nodiscard]]: a dropped Status is a compiler warning (an error in
// CI). Propagate it (ASSIGNSCOPE_RETURN_IF_ERROR, ASSIGNSCOPE_ASSIGN_OR_RETURN)
// or, where ignoring it is right, say why beside an explicit (void).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace assignscope {

enum class ErrorKind {
  kOk,
  kUsage,         // bad command line: unknown assigner, parameter, flag value
  kInvalidInput,  // a well-formed file whose content breaks the contract
  kCorrupt,       // a file that is not what it claims: truncated, bad magic
  kUnsupported,   // a valid file using a feature we do not read
  kIo,            // the operating system refused: missing file, no permission
  kInternal,      // a bug in assignscope
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok

  static Status Usage(std::string msg) { return {ErrorKind::kUsage, std::move(msg)}; }
  static Status InvalidInput(std::string msg) { return {ErrorKind::kInvalidInput, std::move(msg)}; }
  static Status Corrupt(std::string msg) { return {ErrorKind::kCorrupt, std::move(msg)}; }
  static Status Unsupported(std::string msg) { return {ErrorKind::kUnsupported, std::move(msg)}; }
  static Status Io(std::string msg) { return {ErrorKind::kIo, std::move(msg)}; }
  static Status Internal(std::string msg) { return {ErrorKind::kInternal, std::move(msg)}; }

  bool ok() const { return kind_ == ErrorKind::kOk; }
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }

  // The same error with "<where>: " put in front of the message, for callers
  // that know the file or field a lower layer did not.
  Status WithContext(const std::string& where) const;

 private:
  Status(ErrorKind kind, std::string msg) : kind_(kind), message_(std::move(msg)) {}
  ErrorKind kind_ = ErrorKind::kOk;
  std::string message_;
};

// Documented exit codes: 0 success, 1 a difference the user asked to fail on,
// 2 bad usage or bad input, 3 internal error.
int exit_code(const Status& s);

// A value or the Status saying why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "Result from an ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace assignscope

// Return early with the Status of an expression that failed.
#define ASSIGNSCOPE_RETURN_IF_ERROR(expr) \
  do {                                    \
    ::assignscope::Status _st = (expr);   \
    if (!_st.ok()) return _st;            \
  } while (0)

// Declare-or-assign `lhs` from a Result<T> expression, returning its Status
// from the enclosing function when it failed:
//   ASSIGNSCOPE_ASSIGN_OR_RETURN(auto header, parse_header(bytes, origin));
//   ASSIGNSCOPE_ASSIGN_OR_RETURN(existing, read_file_text(path));
// The value is moved out of the Result. Expands to more than one statement:
// not for the body of an unbraced if/for.
#define ASSIGNSCOPE_ASSIGN_OR_RETURN(lhs, ...) \
  ASSIGNSCOPE_ASSIGN_OR_RETURN_IMPL_(ASSIGNSCOPE_STATUS_CONCAT_(assignscope_result_, __LINE__), lhs, __VA_ARGS__)
#define ASSIGNSCOPE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, ...) \
  auto tmp = (__VA_ARGS__);                               \
  if (!tmp.ok()) return tmp.status();                     \
  lhs = std::move(tmp).value()
#define ASSIGNSCOPE_STATUS_CONCAT_(a, b) ASSIGNSCOPE_STATUS_CONCAT_INNER_(a, b)
#define ASSIGNSCOPE_STATUS_CONCAT_INNER_(a, b) a##b
