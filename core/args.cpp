#include <sleet/args.hpp>

namespace sleet {

const char* arg_kind_name(ArgKind k) {
  switch (k) {
    case ArgKind::null:
      return "null";
    case ArgKind::boolean:
      return "bool";
    case ArgKind::integer:
      return "integer";
    case ArgKind::number:
      return "number";
    case ArgKind::string:
      return "string";
    case ArgKind::list:
      return "list";
    case ArgKind::map:
      return "map";
  }
  return "?";
}

bool Arg::fits(ArgKind want) const {
  if (kind_ == want) return true;
  if (want == ArgKind::number && kind_ == ArgKind::integer) return true;
  return false;
}

std::string Arg::to_string() const {
  switch (kind_) {
    case ArgKind::null:
      return "null";
    case ArgKind::boolean:
      return b_ ? "true" : "false";
    case ArgKind::integer:
      return std::to_string(i_);
    case ArgKind::number:
      return std::to_string(d_);
    case ArgKind::string:
      return s_;
    case ArgKind::list: {
      std::string o = "[";
      for (size_t i = 0; i < list_.size(); ++i) o += (i ? ", " : "") + list_[i].to_string();
      return o + "]";
    }
    case ArgKind::map: {
      std::string o = "{";
      bool first = true;
      for (auto& [k, v] : map_) {
        o += (first ? "" : ", ") + k + ": " + v.to_string();
        first = false;
      }
      return o + "}";
    }
  }
  return {};
}

std::string Args::string_or(const std::string& name, std::string def) const {
  auto* a = find(name);
  if (!a || a->is_null()) return def;
  if (a->kind() == ArgKind::string) return a->as_string();
  return a->to_string();
}
int64_t Args::int_or(const std::string& name, int64_t def) const {
  auto* a = find(name);
  return a && (a->kind() == ArgKind::integer || a->kind() == ArgKind::number) ? a->as_int() : def;
}
double Args::double_or(const std::string& name, double def) const {
  auto* a = find(name);
  return a && (a->kind() == ArgKind::integer || a->kind() == ArgKind::number) ? a->as_double()
                                                                              : def;
}
bool Args::bool_or(const std::string& name, bool def) const {
  auto* a = find(name);
  return a && a->kind() == ArgKind::boolean ? a->as_bool() : def;
}
std::vector<std::string> Args::strings_or(const std::string& name,
                                          std::vector<std::string> def) const {
  auto* a = find(name);
  if (!a) return def;
  if (a->kind() == ArgKind::string) return {a->as_string()};
  if (a->kind() != ArgKind::list) return def;
  std::vector<std::string> out;
  for (auto& e : a->as_list())
    out.push_back(e.kind() == ArgKind::string ? e.as_string() : e.to_string());
  return out;
}

}  // namespace sleet
