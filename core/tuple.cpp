#include <sleet/tuple.hpp>

#include <charconv>
#include <cstring>

namespace sleet {

const char* value_type_name(ValueType t) {
  switch (t) {
    case ValueType::int64:
      return "int64";
    case ValueType::float64:
      return "double";
    case ValueType::string:
      return "string";
    case ValueType::bytes:
      return "bytes";
    case ValueType::boolean:
      return "bool";
  }
  return "?";
}

void append_text(const Value& v, std::string& out) {
  switch (type_of(v)) {
    case ValueType::int64: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, std::get<int64_t>(v));
      out.append(buf, r.ptr);
      return;
    }
    case ValueType::float64: {
      char buf[64];
      int n = snprintf(buf, sizeof buf, "%.17g", std::get<double>(v));
      out.append(buf, static_cast<size_t>(n));
      return;
    }
    case ValueType::string:
      out += std::get<std::string>(v);
      return;
    case ValueType::bytes:
      out += std::get<Bytes>(v).data;
      return;
    case ValueType::boolean:
      out += std::get<bool>(v) ? "true" : "false";
      return;
  }
}

std::string to_text(const Value& v) {
  std::string s;
  append_text(v, s);
  return s;
}

namespace {
// FNV-1a 64: stable across processes and platforms, cheap for short keys.
uint64_t fnv1a(const void* data, size_t n, uint64_t h = 1469598103934665603ull) {
  auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}
uint64_t mix(uint64_t h) {  // finalizer (murmur3) so low bits spread well for modulo
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}
}  // namespace

uint64_t stable_hash(const Value& v) {
  switch (type_of(v)) {
    case ValueType::int64: {
      int64_t x = std::get<int64_t>(v);
      return mix(static_cast<uint64_t>(x));
    }
    case ValueType::float64: {
      double d = std::get<double>(v);
      uint64_t x;
      std::memcpy(&x, &d, sizeof x);
      return mix(x);
    }
    case ValueType::string: {
      const auto& s = std::get<std::string>(v);
      return mix(fnv1a(s.data(), s.size()));
    }
    case ValueType::bytes: {
      const auto& s = std::get<Bytes>(v).data;
      return mix(fnv1a(s.data(), s.size()));
    }
    case ValueType::boolean:
      return mix(std::get<bool>(v) ? 1 : 0);
  }
  return 0;
}

const Value& Tuple::at_missing(std::string_view field) const {
  (void)values_.at(index(field));  // throws: no such field, or fewer values than fields
  throw std::out_of_range("field '" + std::string(field) + "' not in tuple");
}

size_t Tuple::index(std::string_view field) const {
  int i = fields_ ? fields_->index_of(field) : -1;
  if (i < 0) throw std::invalid_argument("no field '" + std::string(field) + "' in tuple");
  return static_cast<size_t>(i);
}

std::string_view Tuple::get_text(std::string_view f) const {
  const Value& v = at(f);
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  if (auto* b = std::get_if<Bytes>(&v)) return b->data;
  throw std::invalid_argument("field '" + std::string(f) + "' has type " +
                              value_type_name(type_of(v)) + ", expected string or bytes");
}

std::string Tuple::debug_string() const {
  std::string out;
  for (size_t i = 0; i < values_.size(); ++i) {
    if (i) out += ' ';
    if (fields_ && i < fields_->size()) out += fields_->names()[i] + "=";
    std::string t = to_text(values_[i]);
    if (t.size() > 200) t = t.substr(0, 200) + "...";
    out += t;
  }
  return out;
}

}  // namespace sleet
