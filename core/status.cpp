#include <sleet/status.hpp>

#include <array>

namespace sleet {

namespace {

using EC = ErrorClass;
using WE = WorkerExit;

// The classification, one case per Code (no default: -Wswitch names a Code added without a row).
// Why each row is what it is:
//   invalid_argument  fatal, 3: a bad config value, component argument or poison record under
//                     on_error: fail; the same file fails the same way after a restart.
//   not_found         abort, 1: what this attempt needed is not there (a topic not created yet,
//                     a blob of an aborted checkpoint); it may be there next time.
//   already_exists    abort, 1: lost a creation race; the next attempt reads what is there.
//   io_error          abort, 1: a failed write or read (a full checkpoint.dir): give up this
//                     checkpoint or this step, keep running; a worker that stops on it restarts.
//   corruption        fatal, 3: a checksum mismatch or undecodable data reads the same again.
//   incompatible      fatal, 3: the checkpoint (or the Kafka log under it) does not fit the
//                     topology; a restart restores the same checkpoint.
//   unavailable       retriable, 1: ZooKeeper or Kafka not reachable right now.
//   fenced            fatal, 3: a newer generation took over; this worker must not go on, and
//                     must not come back to fight its successor.
//   timeout           retriable, 1: a deadline passed; trying again may be in time.
//   cancelled         abort, 1: stopped on purpose (shutdown, a purged or destroyed client).
//   internal          fatal, 1: a bug, a fatal client state (idempotent producer) or a stalled
//                     task: stop this worker; a fresh process may get past it.
constexpr CodeInfo row(Code c) {
  switch (c) {
    case Code::ok:
      return {c, "ok", EC::fatal, WE::ok};
    case Code::invalid_argument:
      return {c, "invalid argument", EC::fatal, WE::unrecoverable};
    case Code::not_found:
      return {c, "not found", EC::abort, WE::restart};
    case Code::already_exists:
      return {c, "already exists", EC::abort, WE::restart};
    case Code::io_error:
      return {c, "I/O error", EC::abort, WE::restart};
    case Code::corruption:
      return {c, "corruption", EC::fatal, WE::unrecoverable};
    case Code::incompatible:
      return {c, "incompatible", EC::fatal, WE::unrecoverable};
    case Code::unavailable:
      return {c, "unavailable", EC::retriable, WE::restart};
    case Code::fenced:
      return {c, "fenced", EC::fatal, WE::unrecoverable};
    case Code::timeout:
      return {c, "timeout", EC::retriable, WE::restart};
    case Code::cancelled:
      return {c, "cancelled", EC::abort, WE::restart};
    case Code::internal:
      return {c, "internal error", EC::fatal, WE::restart};
  }
  return {c, "unknown", EC::fatal, WE::restart};
}

constexpr size_t kCodes = static_cast<size_t>(Code::internal) + 1;

constexpr std::array<CodeInfo, kCodes> make_table() {
  std::array<CodeInfo, kCodes> t{};
  for (size_t i = 0; i < kCodes; ++i) t[i] = row(static_cast<Code>(i));
  return t;
}

constexpr std::array<CodeInfo, kCodes> kTable = make_table();
static_assert(kTable.back().code == Code::internal && kTable.front().code == Code::ok);

}  // namespace

const CodeInfo& code_info(Code c) {
  const auto i = static_cast<size_t>(c);
  if (i < kTable.size()) return kTable[i];
  static constexpr CodeInfo kUnknown{Code::internal, "unknown", EC::fatal, WE::restart};
  return kUnknown;
}

std::span<const CodeInfo> code_table() {
  return kTable;
}

const char* code_name(Code c) {
  return code_info(c).name;
}

ErrorClass Status::error_class() const {
  return code_info(code_).error_class;
}

WorkerExit Status::worker_exit() const {
  return code_info(code_).worker_exit;
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  return std::string(code_name(code_)) + ": " + message_;
}

Status Status::with_context(const std::string& what) const {
  if (ok()) return *this;
  return Status(code_, what + ": " + message_);
}

}  // namespace sleet
