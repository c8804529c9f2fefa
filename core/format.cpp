#include "core/format.hpp"

#include <charconv>
#include <cstdio>
#include <cstring>

namespace sleet {

Result<RecordFormat> parse_format(const std::string& name) {
  if (name == "tsv") return RecordFormat::tsv;
  if (name == "jsonl") return RecordFormat::jsonl;
  return Status::Invalid("unknown format '" + name + "' (use tsv or jsonl)");
}

void json_string(std::string_view s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

namespace {
// Longest text of a non-string value: int64 20 chars, "%.17g" of a double 24, "false" 5.
constexpr size_t kNumberChars = 32;

char* put(std::string_view s, char* out) {
  std::memcpy(out, s.data(), s.size());
  return out + s.size();
}
}  // namespace

size_t tsv_bound(const Tuple& t) {
  size_t n = t.size();  // separators
  for (const Value& v : t.values()) {
    if (auto* s = std::get_if<std::string>(&v))
      n += s->size();
    else if (auto* b = std::get_if<Bytes>(&v))
      n += b->data.size();
    else
      n += kNumberChars;
  }
  return n;
}

char* write_tsv(const Tuple& t, char* out) {
  bool first = true;
  for (const Value& v : t.values()) {
    if (!first) *out++ = '\t';
    first = false;
    switch (type_of(v)) {
      case ValueType::string:
        out = put(*std::get_if<std::string>(&v), out);
        break;
      case ValueType::int64:
        out = std::to_chars(out, out + kNumberChars, *std::get_if<int64_t>(&v)).ptr;
        break;
      case ValueType::bytes:
        out = put(std::get_if<Bytes>(&v)->data, out);
        break;
      case ValueType::boolean:
        out = put(*std::get_if<bool>(&v) ? "true" : "false", out);
        break;
      case ValueType::float64:
        // Same text as append_text: "%.17g" (round-trips).
        out += snprintf(out, kNumberChars, "%.17g", *std::get_if<double>(&v));
        break;
    }
  }
  return out;
}

void encode_record(RecordFormat f, const Tuple& t, std::string& out) {
  const auto& vs = t.values();
  if (f == RecordFormat::tsv) {
    const size_t old = out.size();
    out.resize(old + tsv_bound(t));
    out.resize(static_cast<size_t>(write_tsv(t, out.data() + old) - out.data()));
    return;
  }
  out += '{';
  for (size_t i = 0; i < vs.size(); ++i) {
    if (i) out += ',';
    const Fields* fs = t.fields();
    json_string(fs && i < fs->size() ? fs->names()[i] : "f" + std::to_string(i), out);
    out += ':';
    switch (type_of(vs[i])) {
      case ValueType::string:
      case ValueType::bytes:
        json_string(to_text(vs[i]), out);
        break;
      default:
        out += to_text(vs[i]);
    }
  }
  out += '}';
}

}  // namespace sleet
