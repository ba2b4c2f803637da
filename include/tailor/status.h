#pragma once

#include <fmt/format.h>

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace tailor {

// What went wrong, named by what the caller should do about it (after absl::StatusCode).
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // Fix the input (a row, a rule, a request); retrying as is fails again.
  kNotFound,            // The named profile, item or key does not exist.
  kAlreadyExists,       // The thing to create is there already.
  kFailedPrecondition,  // Fix the state first (e.g. reopen with a newer tailor); then retry.
  kCorruption,          // Stored data fails its checks; restore or repair before going on.
  kIoError,             // The disk or the OS failed; may succeed later.
  kResourceExhausted,   // A limit was hit (size, rate, memory); shrink the request or wait.
  kInternal,            // A bug in tailor: report it.
  kCancelled,           // Stopped on request (or past its deadline) before writing anything.
};

std::string_view StatusCodeName(StatusCode code);

// The outcome of a call that can fail. Cheap to pass when ok (no allocation).
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: line 3: ...", or "OK".
  std::string ToString() const;

  // Prepends context, e.g. WithContext("mapping.json") -> "mapping.json: <message>".
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename... Args>
Status InvalidArgument(fmt::format_string<Args...> format, Args&&... args) {
  return Status(StatusCode::kInvalidArgument, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
Status NotFound(fmt::format_string<Args...> format, Args&&... args) {
  return Status(StatusCode::kNotFound, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
Status FailedPrecondition(fmt::format_string<Args...> format, Args&&... args) {
  return Status(StatusCode::kFailedPrecondition, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
Status Corruption(fmt::format_string<Args...> format, Args&&... args) {
  return Status(StatusCode::kCorruption, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
Status IoError(fmt::format_string<Args...> format, Args&&... args) {
  return Status(StatusCode::kIoError, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
Status Internal(fmt::format_string<Args...> format, Args&&... args) {
  return Status(StatusCode::kInternal, fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
Status Cancelled(fmt::format_string<Args...> format, Args&&... args) {
  return Status(StatusCode::kCancelled, fmt::format(format, std::forward<Args>(args)...));
}

// A value or an error; never holds an ok Status without a value.
template <typename T>
class [[nodiscard]] Result {
 public:
  using value_type = T;
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!status_.ok() && "a Result is built from a value or from an error, never from OK");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace tailor

#define TAILOR_CONCAT_INNER(a, b) a##b
#define TAILOR_CONCAT(a, b) TAILOR_CONCAT_INNER(a, b)

#define TAILOR_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::tailor::Status tailor_status_ = (expr);        \
    if (!tailor_status_.ok()) return tailor_status_; \
  } while (false)

#define TAILOR_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

#define TAILOR_ASSIGN_OR_RETURN(lhs, expr) \
  TAILOR_ASSIGN_OR_RETURN_IMPL(TAILOR_CONCAT(tailor_result_, __LINE__), lhs, expr)
