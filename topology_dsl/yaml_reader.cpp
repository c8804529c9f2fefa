#include "topology_dsl/yaml_reader.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>

#include "core/config.hpp"
#include "topology_dsl/text_util.hpp"

namespace sleet::dsl {

SourceLocation Reader::loc(const YAML::Node& n) const {
  YAML::Mark m = n.Mark();
  if (m.is_null() || m.line < 0) return {file_, 0, 0};
  return {file_, m.line + 1, m.column + 1};
}

void Reader::error(const YAML::Node& at, std::string message) {
  if (error_total_ >= kMaxErrors) throw TooManyErrors(loc(at));
  ++error_total_;
  ++errors_;
  diags_.push_back({loc(at), std::move(message), true});
}

void Reader::warn(const YAML::Node& at, std::string message) {
  diags_.push_back({loc(at), std::move(message), false});
}

std::optional<YAML::Node> Reader::get(const YAML::Node& map, std::string_view key) {
  if (!map.IsMap()) return std::nullopt;
  for (auto it = map.begin(); it != map.end(); ++it)
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  return std::nullopt;
}

void Reader::tick(const YAML::Node& at) {
  if (++budget_ > kMaxNodes) throw TooLarge(loc(at));
}

std::optional<std::string> Reader::text(const YAML::Node& n, const std::string& what) {
  tick(n);
  if (n.IsNull()) return std::string();
  if (!n.IsScalar()) {
    error(n, what + " must be a single value, not a " + (n.IsMap() ? "map" : "list"));
    return std::nullopt;
  }
  const size_t before = errors_;
  std::string s = substitute(n, n.Scalar());
  if (errors_ != before) return std::nullopt;
  return s;
}

std::optional<int64_t> Reader::integer(const YAML::Node& n, const std::string& what) {
  auto t = text(n, what);
  if (!t) return std::nullopt;
  Arg a = typed_scalar(*t);
  if (a.kind() != ArgKind::integer) {
    error(n, not_an_integer(what, *t));
    return std::nullopt;
  }
  return a.as_int();
}

Arg Reader::value(const YAML::Node& n, int depth) {
  tick(n);
  if (depth > kMaxArgDepth) {
    if (!depth_reported_)  // once: a self-referencing list would report every branch
      error(n, "value nested more than " + std::to_string(kMaxArgDepth) +
                   " levels deep (a YAML alias referring to itself?)");
    depth_reported_ = true;
    return Arg();
  }
  if (n.IsNull()) return Arg();
  if (n.IsSequence()) {
    std::vector<Arg> list;
    for (auto it = n.begin(); it != n.end(); ++it) list.push_back(value(*it, depth + 1));
    return Arg(std::move(list));
  }
  if (n.IsMap()) {
    std::map<std::string, Arg> map;
    check_keys(n, {}, "");
    for (auto it = n.begin(); it != n.end(); ++it)
      if (it->first.IsScalar()) map.emplace(it->first.Scalar(), value(it->second, depth + 1));
    return Arg(std::move(map));
  }
  std::string s = substitute(n, n.Scalar());
  const std::string& tag = n.Tag();
  // "!" marks a quoted scalar; an explicit !!str keeps the text too.
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return Arg(std::move(s));
  return typed_scalar(s);
}

namespace {

bool is_var_name(std::string_view v) {
  if (v.empty() || std::isdigit(static_cast<unsigned char>(v.front()))) return false;
  for (char c : v)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// Index of the '}' closing the "${" at `open`, honoring nested "${...}"; npos if none.
size_t closing_brace(const std::string& s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s.compare(i, 2, "${") == 0) {
      ++depth;
      ++i;
    } else if (s[i] == '}' && --depth == 0) {
      return i;
    }
  }
  return std::string::npos;
}

// Position of the first ":-" in `body` outside nested "${...}".
size_t default_separator(const std::string& body) {
  int depth = 0;
  for (size_t i = 0; i + 1 < body.size(); ++i) {
    if (body.compare(i, 2, "${") == 0) {
      ++depth;
      ++i;
    } else if (body[i] == '}') {
      --depth;
    } else if (depth == 0 && body.compare(i, 2, ":-") == 0) {
      return i;
    }
  }
  return std::string::npos;
}

}  // namespace

std::string Reader::substitute(const YAML::Node& at, const std::string& in, int depth) {
  if (in.find('$') == std::string::npos) return in;
  std::string out;
  size_t i = 0;
  while (i < in.size()) {
    if (in.compare(i, 3, "$${") == 0) {  // escape: a literal "${"
      out += "${";
      i += 3;
      continue;
    }
    if (in.compare(i, 2, "${") != 0) {
      out += in[i++];
      continue;
    }
    size_t close = closing_brace(in, i);
    if (close == std::string::npos) {
      error(at, "unterminated '${' in '" + in + "' (write $${ for a literal ${)");
      return out + in.substr(i);
    }
    std::string body = in.substr(i + 2, close - i - 2);
    i = close + 1;
    std::string var = body, def;
    bool has_default = false;
    if (size_t sep = default_separator(body); sep != std::string::npos) {
      var = body.substr(0, sep);
      def = body.substr(sep + 2);
      has_default = true;
    } else if (body.rfind("ENV-", 0) == 0) {  // Flux: ${ENV-NAME}
      var = body.substr(4);
    }
    if (!is_var_name(var)) {
      if (var.find('.') != std::string::npos && !var.empty())
        error(at, "'${" + body +
                      "}' looks like a Flux property reference; Sleet substitutes environment "
                      "variables only (${VAR}, ${VAR:-default}); use --set for config values");
      else
        error(at, "bad variable reference '${" + body +
                      "}': a name is letters, digits and '_' (${VAR} or ${VAR:-default})");
      continue;
    }
    const char* v = std::getenv(var.c_str());
    if (v && (*v || !has_default)) {
      out += v;
    } else if (has_default) {
      if (depth >= 8) {
        error(at, "'${" + body + "}' nests defaults too deeply");
        continue;
      }
      out += substitute(at, def, depth + 1);
    } else {
      error(at, "environment variable " + var + " is not set (use ${" + var +
                    ":-default} to give a default)");
    }
  }
  return out;
}

void Reader::check_keys(const YAML::Node& map, const std::vector<std::string>& known,
                        const std::string& where) {
  std::map<std::string, SourceLocation> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    tick(it->first);
    if (!it->first.IsScalar()) {
      error(it->first,
            "a key must be a plain word, not a " + std::string(it->first.IsMap()    ? "map"
                                                               : it->first.IsNull() ? "null"
                                                                                    : "list"));
      continue;
    }
    const std::string& k = it->first.Scalar();
    auto [prev, fresh] = seen.emplace(k, loc(it->first));
    if (!fresh) {
      error(it->first, "duplicate key '" + k + "' (first at line " +
                           std::to_string(prev->second.line) + "); only one may be given");
      continue;
    }
    if (!known.empty() && std::find(known.begin(), known.end(), k) == known.end())
      error(it->first, "unknown key '" + k + "' in " + where + did_you_mean(k, known) +
                           "; known keys: " + join(known));
  }
}

std::string not_an_integer(const std::string& what, const std::string& text) {
  return not_a_whole_number(what, text);
}

Arg typed_scalar(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return Arg(true);
  if (s == "false" || s == "False" || s == "FALSE") return Arg(false);
  if (s == "null" || s == "Null" || s == "NULL" || s == "~") return Arg();
  if (s.empty()) return Arg(s);
  // Integers: [-+]digits, 0x hex, 0o octal (the grammar config values use too). Hex or octal too
  // large for 64 bits is not a float either: it stays text.
  if (auto n = parse_whole_number(s)) return Arg(*n);
  // Floats: [-+](digits[.digits]|.digits)[e[-+]digits], .inf, .nan.
  {
    std::string_view v(s);
    bool neg = false;
    if (v.front() == '-' || v.front() == '+') {
      neg = v.front() == '-';
      v.remove_prefix(1);
    }
    if (v == ".inf" || v == ".Inf" || v == ".INF")
      return Arg(neg ? -std::numeric_limits<double>::infinity()
                     : std::numeric_limits<double>::infinity());
    if (v == ".nan" || v == ".NaN" || v == ".NAN") return Arg(std::nan(""));
    size_t i = 0, int_digits = 0, frac_digits = 0;
    while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i, ++int_digits;
    if (i < v.size() && v[i] == '.') {
      ++i;
      while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i, ++frac_digits;
    }
    bool ok = int_digits + frac_digits > 0;
    if (ok && i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
      ++i;
      if (i < v.size() && (v[i] == '-' || v[i] == '+')) ++i;
      size_t exp_digits = 0;
      while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i, ++exp_digits;
      ok = exp_digits > 0;
    }
    if (ok && i == v.size()) {
      // The text is validated above, so strtod consumes all of it; out-of-range values become
      // +-HUGE_VAL (inf) or 0, which is what YAML readers do too.
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (end == s.c_str() + s.size()) return Arg(d);
    }
  }
  return Arg(s);
}

}  // namespace sleet::dsl
