#include "cluster/status_json.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/format.hpp"

namespace sleet::cluster {

JsonValue JsonValue::of(double v) {
  JsonValue j;
  j.type = Type::number;
  j.number = v;
  return j;
}
JsonValue JsonValue::of(bool v) {
  JsonValue j;
  j.type = Type::boolean;
  j.boolean = v;
  return j;
}
JsonValue JsonValue::of(std::string v) {
  JsonValue j;
  j.type = Type::string;
  j.string = std::move(v);
  return j;
}
JsonValue JsonValue::new_array() {
  JsonValue j;
  j.type = Type::array;
  return j;
}
JsonValue JsonValue::new_object() {
  JsonValue j;
  j.type = Type::object;
  return j;
}

const JsonValue* JsonValue::get(std::string_view key) const {
  if (type != Type::object) return nullptr;
  for (auto& [k, v] : object)
    if (k == key) return &v;
  return nullptr;
}

std::optional<double> JsonValue::number_at(std::string_view key) const {
  const JsonValue* v = get(key);
  if (!v || v->type != Type::number) return std::nullopt;
  return v->number;
}
std::optional<std::string> JsonValue::string_at(std::string_view key) const {
  const JsonValue* v = get(key);
  if (!v || v->type != Type::string) return std::nullopt;
  return v->string;
}
std::optional<bool> JsonValue::bool_at(std::string_view key) const {
  const JsonValue* v = get(key);
  if (!v || v->type != Type::boolean) return std::nullopt;
  return v->boolean;
}

void JsonValue::set(const std::string& key, JsonValue v) {
  if (type != Type::object) *this = new_object();
  for (auto& [k, old] : object)
    if (k == key) {
      old = std::move(v);
      return;
    }
  object.emplace_back(key, std::move(v));
}

namespace {

// Recursive descent over `s`; depth-bounded so a hostile document cannot blow the stack.
class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<JsonValue> document() {
    JsonValue v;
    if (!value(v, 0)) return error();
    blanks();
    if (p_ != s_.size()) {
      why_ = "trailing characters";
      return error();
    }
    return v;
  }

 private:
  Status error() const {
    return Status::Corruption("not JSON at offset " + std::to_string(p_) + ": " + why_);
  }
  void blanks() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r'))
      ++p_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(p_, word.size()) != word) {
      why_ = "unexpected character";
      return false;
    }
    p_ += word.size();
    return true;
  }
  bool value(JsonValue& out, int depth) {
    if (depth > 64) {
      why_ = "nested too deeply";
      return false;
    }
    blanks();
    if (p_ >= s_.size()) {
      why_ = "unexpected end";
      return false;
    }
    char c = s_[p_];
    if (c == '{') return object(out, depth);
    if (c == '[') return array(out, depth);
    if (c == '"') {
      out.type = JsonValue::Type::string;
      return string(out.string);
    }
    if (c == 't') {
      out = JsonValue::of(true);
      return literal("true");
    }
    if (c == 'f') {
      out = JsonValue::of(false);
      return literal("false");
    }
    if (c == 'n') {
      out = JsonValue{};
      return literal("null");
    }
    return number(out);
  }
  bool number(JsonValue& out) {
    size_t start = p_;
    while (p_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[p_])) || s_[p_] == '-' ||
                              s_[p_] == '+' || s_[p_] == '.' || s_[p_] == 'e' || s_[p_] == 'E'))
      ++p_;
    std::string text(s_.substr(start, p_ - start));
    char* end = nullptr;
    double d = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size()) {
      p_ = start;
      why_ = "not a value";
      return false;
    }
    out = JsonValue::of(d);
    return true;
  }
  static void utf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  bool hex4(uint32_t& cp) {
    if (p_ + 4 > s_.size()) return false;
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      char h = s_[p_++];
      cp <<= 4;
      if (h >= '0' && h <= '9')
        cp |= static_cast<uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f')
        cp |= static_cast<uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        cp |= static_cast<uint32_t>(h - 'A' + 10);
      else
        return false;
    }
    return true;
  }
  bool string(std::string& out) {
    ++p_;  // the opening quote
    while (p_ < s_.size() && s_[p_] != '"') {
      char c = s_[p_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (p_ >= s_.size()) break;
      char e = s_[p_++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(cp)) {
            why_ = "bad \\u escape";
            return false;
          }
          if (cp >= 0xD800 && cp < 0xDC00 && s_.substr(p_, 2) == "\\u") {
            p_ += 2;
            uint32_t lo = 0;
            if (!hex4(lo)) {
              why_ = "bad \\u escape";
              return false;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          utf8(cp, out);
          break;
        }
        default:
          out += e;  // \" \\ \/
      }
    }
    if (p_ >= s_.size()) {
      why_ = "unterminated string";
      return false;
    }
    ++p_;
    return true;
  }
  bool array(JsonValue& out, int depth) {
    out = JsonValue::new_array();
    ++p_;
    blanks();
    if (p_ < s_.size() && s_[p_] == ']') {
      ++p_;
      return true;
    }
    while (true) {
      JsonValue v;
      if (!value(v, depth + 1)) return false;
      out.array.push_back(std::move(v));
      blanks();
      if (p_ < s_.size() && s_[p_] == ',') {
        ++p_;
        continue;
      }
      if (p_ < s_.size() && s_[p_] == ']') {
        ++p_;
        return true;
      }
      why_ = "expected , or ]";
      return false;
    }
  }
  bool object(JsonValue& out, int depth) {
    out = JsonValue::new_object();
    ++p_;
    blanks();
    if (p_ < s_.size() && s_[p_] == '}') {
      ++p_;
      return true;
    }
    while (true) {
      blanks();
      if (p_ >= s_.size() || s_[p_] != '"') {
        why_ = "expected a key";
        return false;
      }
      std::string key;
      if (!string(key)) return false;
      blanks();
      if (p_ >= s_.size() || s_[p_] != ':') {
        why_ = "expected :";
        return false;
      }
      ++p_;
      JsonValue v;
      if (!value(v, depth + 1)) return false;
      out.object.emplace_back(std::move(key), std::move(v));
      blanks();
      if (p_ < s_.size() && s_[p_] == ',') {
        ++p_;
        continue;
      }
      if (p_ < s_.size() && s_[p_] == '}') {
        ++p_;
        return true;
      }
      why_ = "expected , or }";
      return false;
    }
  }

  std::string_view s_;
  size_t p_ = 0;
  std::string why_;
};

void write(const JsonValue& v, std::string& out) {
  switch (v.type) {
    case JsonValue::Type::null:
      out += "null";
      return;
    case JsonValue::Type::boolean:
      out += v.boolean ? "true" : "false";
      return;
    case JsonValue::Type::number: {
      if (!std::isfinite(v.number)) {
        out += "null";
        return;
      }
      char buf[64];
      if (v.number == std::floor(v.number) && std::fabs(v.number) < 9.0e15)
        std::snprintf(buf, sizeof buf, "%.0f", v.number);
      else
        std::snprintf(buf, sizeof buf, "%.6g", v.number);
      out += buf;
      return;
    }
    case JsonValue::Type::string:
      json_string(v.string, out);
      return;
    case JsonValue::Type::array: {
      out += '[';
      for (size_t i = 0; i < v.array.size(); ++i) {
        if (i) out += ',';
        write(v.array[i], out);
      }
      out += ']';
      return;
    }
    case JsonValue::Type::object: {
      out += '{';
      for (size_t i = 0; i < v.object.size(); ++i) {
        if (i) out += ',';
        json_string(v.object[i].first, out);
        out += ':';
        write(v.object[i].second, out);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

Result<JsonValue> parse_json(std::string_view text) {
  return Parser(text).document();
}

std::string write_json(const JsonValue& v) {
  std::string out;
  write(v, out);
  return out;
}

}  // namespace sleet::cluster
