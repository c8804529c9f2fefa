// Errors as values. Every fallible library call returns Status or Result<T>; only the CLI turns
// them into exit codes. Each Code is classified once, in code_info() (core/status.cpp), on two
// axes (librdkafka style):
//   ErrorClass: what code inside a running worker does with a failed call:
//     retriable -> the same call may succeed if tried again: wait and retry (or let the client
//                  library retry), a bounded number of times or until a deadline;
//     abort     -> give up this attempt (this checkpoint, this publish round, this consumer
//                  error event) and keep the worker running; the next attempt starts afresh;
//     fatal     -> stop the worker (Engine::fail, Worker::run returns it).
//   WorkerExit: how `sleet worker` exits once Worker::run returned the code: 1 (a restart may
//     cure it) or 3 (a restart with the same file cannot). A fatal code is not always 3: an
//     internal error (a bug, a fatal client state, a stalled task) stops this worker, and a fresh
//     process may get past it.
// Callers ask error_class() / worker_exit() instead of listing codes themselves (the worker's
// exit status, KafkaSpout's consumer errors, KafkaSink's scan, the coordinator's commit).
#pragma once

#include <cassert>
#include <span>
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
  internal,  // keep last: core/status.cpp sizes its classification table by it
};

// The exit status of `sleet worker` failing with a code (cli/cmd_worker.cpp exits with it; the
// supervisor restarts on 1 and gives up on 3). The values are the exit statuses.
enum class WorkerExit : int { ok = 0, restart = 1, unrecoverable = 3 };

// The one classification of a Code (see the file comment).
struct CodeInfo {
  Code code;
  const char* name;  // code_name()
  ErrorClass error_class;
  WorkerExit worker_exit;
};

// The row of `c`. Ok is not an error: its class is fatal only for compatibility (never asked).
// A value outside the enum gets {internal, "unknown", fatal, restart}. Pure; any thread.
const CodeInfo& code_info(Code c);
// Every Code's row in enum order, ok first (for tests and docs).
std::span<const CodeInfo> code_table();
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
  // code_info(code()).error_class / .worker_exit: the one classification, see the file comment.
  ErrorClass error_class() const;
  WorkerExit worker_exit() const;
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
