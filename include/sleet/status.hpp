// Errors as values. Every fallible library call returns Status or Result<T>; only the CLI turns
// them into exit codes. The ErrorClass of a Status decides what callers do with it, in one place
// (librdkafka style): retriable -> wait and try again, abort -> give up this attempt (e.g. this
// checkpoint) but keep running, fatal -> stop the worker.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace sleet {

enum class ErrorClass { retriable, abort, fatal };

enum class Code {
  ok = 0,
  invalid_argument,  // caller error: bad config, bad topology, bad argument
  not_found,
  already_exists,
  io_error,
  corruption,    // checksum mismatch, undecodable snapshot
  incompatible,  // topology changed in a way state cannot be mapped
  unavailable,   // ZooKeeper/Kafka not reachable right now
  fenced,        // a newer coordinator generation exists
  timeout,
  cancelled,
  internal,
};

const char* code_name(Code c);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status Invalid(std::string m) { return {Code::invalid_argument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::not_found, std::move(m)}; }
  static Status IoError(std::string m) { return {Code::io_error, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::corruption, std::move(m)}; }
  static Status Incompatible(std::string m) { return {Code::incompatible, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::unavailable, std::move(m)}; }
  static Status Fenced(std::string m) { return {Code::fenced, std::move(m)}; }
  static Status Timeout(std::string m) { return {Code::timeout, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::internal, std::move(m)}; }

  bool ok() const { return code_ == Code::ok; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The one place that classifies errors; see the file comment.
  ErrorClass error_class() const;
  std::string to_string() const;
  // Prefix context ("while committing checkpoint 7: ...") keeping the code.
  Status with_context(const std::string& what) const;

 private:
  Code code_ = Code::ok;
  std::string message_;
};

// A value or the Status explaining why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & {
    assert(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace sleet

#define SLEET_RETURN_IF_ERROR(expr)        \
  do {                                     \
    ::sleet::Status _sleet_st = (expr);    \
    if (!_sleet_st.ok()) return _sleet_st; \
  } while (0)
