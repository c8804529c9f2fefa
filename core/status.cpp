#include <sleet/status.hpp>

namespace sleet {

const char* code_name(Code c) {
  switch (c) {
    case Code::ok:
      return "ok";
    case Code::invalid_argument:
      return "invalid argument";
    case Code::not_found:
      return "not found";
    case Code::already_exists:
      return "already exists";
    case Code::io_error:
      return "I/O error";
    case Code::corruption:
      return "corruption";
    case Code::incompatible:
      return "incompatible";
    case Code::unavailable:
      return "unavailable";
    case Code::fenced:
      return "fenced";
    case Code::timeout:
      return "timeout";
    case Code::cancelled:
      return "cancelled";
    case Code::internal:
      return "internal error";
  }
  return "unknown";
}

ErrorClass Status::error_class() const {
  switch (code_) {
    case Code::unavailable:
    case Code::timeout:
      return ErrorClass::retriable;
    case Code::io_error:
    case Code::cancelled:
    case Code::already_exists:
    case Code::not_found:
      return ErrorClass::abort;
    default:
      return ErrorClass::fatal;
  }
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
