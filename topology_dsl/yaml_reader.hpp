// Reading one YAML file of a topology: locations for diagnostics, `${VAR}` substitution, typed
// scalars, key checks, and a work budget against alias bombs. Internal to topology_dsl.
//
// Never uses yaml-cpp's non-const operator[] (it converts sequences into maps and throws on
// scalars); lookups go through get(), which only reads.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <sleet/args.hpp>

#include "topology_dsl/loader.hpp"

namespace sleet::dsl {

// Nodes one load may visit, all files together. Aliases let a small file expand exponentially
// ("billion laughs"); a real topology has a few hundred nodes.
inline constexpr size_t kMaxNodes = 200'000;
// Nesting of argument values (lists of maps of lists...).
inline constexpr int kMaxArgDepth = 64;

// Errors one load reports before it stops reading. Aliases repeat a node's errors once per
// alias, so a 4 KB file could otherwise make ~100k diagnostics, each with a "did you mean"
// search, taking over 10 s under the fuzzer (corpus timeout-aliased-unknown-keys.yaml).
// A real file with that many errors is better fixed from its first ones.
inline constexpr size_t kMaxErrors = 1000;

// Thrown when the node budget is spent; the file loader turns it into one diagnostic.
class TooLarge : public std::runtime_error {
 public:
  explicit TooLarge(SourceLocation l)
      : std::runtime_error("topology file too large"), loc(std::move(l)) {}
  SourceLocation loc;
};

// Thrown by Reader::error once kMaxErrors errors are reported; also one diagnostic.
class TooManyErrors : public std::runtime_error {
 public:
  explicit TooManyErrors(SourceLocation l)
      : std::runtime_error("too many errors"), loc(std::move(l)) {}
  SourceLocation loc;
};

class Reader {
 public:
  // `budget` and `error_total` (errors reported so far) are shared by every file of one load.
  Reader(std::string file, std::vector<Diagnostic>& diags, size_t& budget, size_t& error_total)
      : file_(std::move(file)), diags_(diags), budget_(budget), error_total_(error_total) {}

  const std::string& file() const { return file_; }
  SourceLocation loc(const YAML::Node& n) const;
  // Throws TooManyErrors instead when kMaxErrors errors are reported already.
  void error(const YAML::Node& at, std::string message);
  void warn(const YAML::Node& at, std::string message);

  // The value of `key` in `map`, if `map` is a map holding it (first occurrence).
  static std::optional<YAML::Node> get(const YAML::Node& map, std::string_view key);

  // Counts one node against the budget; throws TooLarge when it is spent.
  void tick(const YAML::Node& at);

  // A scalar's text after substitution; nullopt (with an error) for a list or map or when
  // substitution failed, so callers do not pile follow-up errors on a value that is not there.
  std::optional<std::string> text(const YAML::Node& n, const std::string& what);
  // A typed value: plain scalars become bool / integer / number / null when they look like one,
  // quoted scalars stay strings; lists and maps recurse.
  Arg value(const YAML::Node& n) {
    depth_reported_ = false;
    return value(n, 0);
  }
  // A whole number, with an error naming `what` otherwise.
  std::optional<int64_t> integer(const YAML::Node& n, const std::string& what);

  // ${VAR}, ${VAR:-default}, Flux's ${ENV-VAR}; $${ is a literal ${.
  std::string substitute(const YAML::Node& at, const std::string& in) {
    return substitute(at, in, 0);
  }

  // Reports keys that are not plain words, duplicates, and keys not in `known` (with a
  // suggestion). `where` completes "unknown key 'x' in ...".
  void check_keys(const YAML::Node& map, const std::vector<std::string>& known,
                  const std::string& where);

 private:
  Arg value(const YAML::Node& n, int depth);
  std::string substitute(const YAML::Node& at, const std::string& in, int depth);

  std::string file_;
  std::vector<Diagnostic>& diags_;
  size_t& budget_;
  size_t& error_total_;
  size_t errors_ = 0;            // errors reported through this reader
  bool depth_reported_ = false;  // within the current top-level value()
};

// Types a plain (unquoted) scalar the YAML 1.2 core-schema way: true/false, null/~, integers
// (decimal, 0x, 0o), floats (incl. .inf/.nan); everything else is a string.
Arg typed_scalar(const std::string& s);
// The message for `text` that typed_scalar did not type as an integer: "<what> is out of range
// ..." (with the range) for digits too many for 64 bits, else "<what> must be a whole number".
std::string not_an_integer(const std::string& what, const std::string& text);

}  // namespace sleet::dsl
