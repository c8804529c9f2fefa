// Component arguments: typed values from the topology file (or the C++ builder) handed to a
// component's factory. The registry checks them against the component's ArgSpecs before the
// factory runs, so factories may read declared args without re-validating types.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sleet {

enum class ArgKind { null, boolean, integer, number, string, list, map };
const char* arg_kind_name(ArgKind k);

class Arg {
 public:
  Arg() = default;
  Arg(bool b) : kind_(ArgKind::boolean), b_(b) {}
  Arg(int v) : kind_(ArgKind::integer), i_(v) {}
  Arg(int64_t v) : kind_(ArgKind::integer), i_(v) {}
  Arg(double v) : kind_(ArgKind::number), d_(v) {}
  Arg(const char* s) : kind_(ArgKind::string), s_(s) {}
  Arg(std::string s) : kind_(ArgKind::string), s_(std::move(s)) {}
  Arg(std::vector<Arg> l) : kind_(ArgKind::list), list_(std::move(l)) {}
  Arg(std::map<std::string, Arg> m) : kind_(ArgKind::map), map_(std::move(m)) {}

  ArgKind kind() const { return kind_; }
  bool is_null() const { return kind_ == ArgKind::null; }
  bool as_bool() const { return b_; }
  // A number is truncated toward zero and saturates at the int64 range (NaN gives 0): a cast of
  // an out-of-range double would be undefined behaviour.
  int64_t as_int() const {
    if (kind_ != ArgKind::number) return i_;
    if (!(d_ == d_)) return 0;
    if (d_ >= 9223372036854775807.0) return INT64_MAX;
    if (d_ <= -9223372036854775808.0) return INT64_MIN;
    return static_cast<int64_t>(d_);
  }
  // Integers widen to numbers.
  double as_double() const { return kind_ == ArgKind::integer ? static_cast<double>(i_) : d_; }
  const std::string& as_string() const { return s_; }
  const std::vector<Arg>& as_list() const { return list_; }
  const std::map<std::string, Arg>& as_map() const { return map_; }
  // Whether this value is acceptable where `want` is declared (integer is accepted as number).
  bool fits(ArgKind want) const;
  std::string to_string() const;

 private:
  ArgKind kind_ = ArgKind::null;
  bool b_ = false;
  int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
  std::vector<Arg> list_;
  std::map<std::string, Arg> map_;
};

class Args {
 public:
  Args() = default;
  Args(std::initializer_list<std::pair<const std::string, Arg>> init) : m_(init) {}
  void set(const std::string& name, Arg v) { m_[name] = std::move(v); }
  bool has(const std::string& name) const { return m_.count(name) != 0; }
  const Arg* find(const std::string& name) const {
    auto it = m_.find(name);
    return it == m_.end() ? nullptr : &it->second;
  }
  std::string string_or(const std::string& name, std::string def) const;
  int64_t int_or(const std::string& name, int64_t def) const;
  double double_or(const std::string& name, double def) const;
  bool bool_or(const std::string& name, bool def) const;
  std::vector<std::string> strings_or(const std::string& name, std::vector<std::string> def) const;
  const std::map<std::string, Arg>& all() const { return m_; }

 private:
  std::map<std::string, Arg> m_;
};

// What a component declares about one argument; shown by `sleet list-components`.
struct ArgSpec {
  std::string name;
  ArgKind kind = ArgKind::string;
  bool required = false;
  std::string help;
  std::optional<Arg> default_value;
};

}  // namespace sleet
