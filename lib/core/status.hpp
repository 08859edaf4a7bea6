// dsx::Status and dsx::Result<T>: errors as values at module boundaries.
//
// The code set maps one-to-one to the documented exit codes of the dsx binary
// (see man/dsx.1, EXIT STATUS), so a command returns `status.exit_code()`.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace dsx {

enum class Code {
  kOk = 0,
  kFailed = 1,        // the operation ran and failed (bad input, verification failure...)
  kUsage = 2,         // bad flags or arguments
  kNotFound = 3,      // a named thing does not exist
  kConflict = 4,      // refused: conflict, forbidden, already exists with other settings
  kUnavailable = 5,   // a server, device or driver cannot be reached
  kInterrupted = 130  // SIGINT
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  static Status Ok() { return {}; }
  static Status Failed(std::string msg) { return {Code::kFailed, std::move(msg)}; }
  static Status Usage(std::string msg) { return {Code::kUsage, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status Conflict(std::string msg) { return {Code::kConflict, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }
  static Status Interrupted(std::string msg) { return {Code::kInterrupted, std::move(msg)}; }

  Status(Code code, std::string msg) : code_(code), msg_(std::move(msg)) {}

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return msg_; }
  int exit_code() const { return static_cast<int>(code_); }
  // "what: why" with the code's name for logs; users see message() only.
  std::string ToString() const;

  // Prefix the message with context, git style: "cannot open 'x': <old message>".
  Status Wrap(const std::string& what) const {
    if (ok()) return *this;
    return {code_, what + ": " + msg_};
  }

 private:
  Code code_ = Code::kOk;
  std::string msg_;
};

const char* CodeName(Code code);

// Result<T>: a value or a non-OK Status (std::expected arrives in C++23).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result from an OK status has no value");
  }
  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
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

}  // namespace dsx

// Early return on a non-OK Status.
#define DSX_RETURN_IF_ERROR(expr)    \
  do {                               \
    ::dsx::Status _dsx_s = (expr);   \
    if (!_dsx_s.ok()) return _dsx_s; \
  } while (0)
