#include "core/format.hpp"

#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace sleet {

Result<RecordFormat> parse_format(const std::string& name) {
  if (name == "tsv") return RecordFormat::tsv;
  if (name == "jsonl") return RecordFormat::jsonl;
  return Status::Invalid("unknown format '" + name + "' (use tsv or jsonl)");
}

namespace {
// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0 when s[i] does not start one.
size_t utf8_sequence(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  const size_t left = s.size() - i;
  const auto cont = [&](size_t k) { return (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

constexpr char kHex[] = "0123456789abcdef";
}  // namespace

void json_string(std::string_view s, std::string& out) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      if (size_t n = utf8_sequence(s, i)) {
        out.append(s.data() + i, n);
        i += n;
      } else {
        // A byte that is not part of valid UTF-8: the lone low surrogate U+DC00+byte (Python's
        // "surrogateescape", PEP 383), so the original bytes come back exactly.
        out += "\\udc";
        out += kHex[c >> 4];
        out += kHex[c & 15];
        ++i;
      }
      continue;
    }
    ++i;
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
        if (c < 0x20 || c == 0x7F) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void base64(std::string_view s, std::string& out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= s.size(); i += 3) {
    const uint32_t v = (static_cast<unsigned char>(s[i]) << 16) |
                       (static_cast<unsigned char>(s[i + 1]) << 8) |
                       static_cast<unsigned char>(s[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (size_t rest = s.size() - i) {
    uint32_t v = static_cast<unsigned char>(s[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(s[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
}

void tsv_escape(std::string_view s, std::string& out) {
  for (char c : s) {
    switch (c) {
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        out += c;
    }
  }
}

std::string tsv_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    switch (s[i + 1]) {
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case '\\':
        out += '\\';
        break;
      default:
        // Not an escape Sleet writes: kept as it is (a lone backslash stays a backslash).
        out += '\\';
        continue;
    }
    ++i;
  }
  return out;
}

namespace {
// Longest text of a non-string value: int64 20 chars, "%.17g" of a double 24, "false" 5.
constexpr size_t kNumberChars = 32;

char* put(std::string_view s, char* out) {
  std::memcpy(out, s.data(), s.size());
  return out + s.size();
}

// The bytes tsv escapes (put_escaped's switch below), as a table: one load and a branch per byte
// on the per-record path.
constexpr std::array<bool, 256> kTsvEscaped = [] {
  std::array<bool, 256> t{};
  t['\t'] = t['\n'] = t['\r'] = t['\\'] = true;
  return t;
}();

// tsv_escape into raw memory: at most 2 * s.size() bytes.
char* put_escaped(std::string_view s, char* out) {
  // Most text has nothing to escape: copy it byte by byte until the first byte that needs an
  // escape (none: done), then the general loop for the rest.
  size_t i = 0;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (kTsvEscaped[static_cast<unsigned char>(c)]) [[unlikely]]
      break;
    *out++ = c;
  }
  if (i == s.size()) [[likely]]
    return out;
  for (char c : s.substr(i)) {
    switch (c) {
      case '\t':
        *out++ = '\\';
        *out++ = 't';
        break;
      case '\n':
        *out++ = '\\';
        *out++ = 'n';
        break;
      case '\r':
        *out++ = '\\';
        *out++ = 'r';
        break;
      case '\\':
        *out++ = '\\';
        *out++ = '\\';
        break;
      default:
        *out++ = c;
    }
  }
  return out;
}
}  // namespace

size_t tsv_bound(const Tuple& t) {
  size_t n = t.size();  // separators
  for (const Value& v : t.values()) {
    if (auto* s = std::get_if<std::string>(&v))
      n += 2 * s->size();  // every byte may need an escape
    else if (auto* b = std::get_if<Bytes>(&v))
      n += 2 * b->data.size();
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
        out = put_escaped(*std::get_if<std::string>(&v), out);
        break;
      case ValueType::int64:
        out = std::to_chars(out, out + kNumberChars, *std::get_if<int64_t>(&v)).ptr;
        break;
      case ValueType::bytes:
        out = put_escaped(std::get_if<Bytes>(&v)->data, out);
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
        json_string(*std::get_if<std::string>(&vs[i]), out);
        break;
      case ValueType::bytes:
        out += '"';
        base64(std::get_if<Bytes>(&vs[i])->data, out);
        out += '"';
        break;
      default:
        out += to_text(vs[i]);
    }
  }
  out += '}';
}

}  // namespace sleet
