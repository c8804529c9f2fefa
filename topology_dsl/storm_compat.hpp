// What Storm users bring along in their Flux files: Storm class names and Flux keys Sleet has no
// use for. Pure tables and functions (no registry, no I/O); any thread. Used by loader.cpp (keys,
// aliases) and validate.cpp (the "did you mean" for a qualified class name).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sleet::dsl {

// A Storm class with a Sleet built-in of the same meaning: the file loads with a warning naming
// the alias. Only where the semantics match (docs/topology-file.md, "Storm class names").
struct StormAlias {
  std::string_view storm;  // fully qualified Storm class
  std::string_view sleet;  // the built-in it becomes
  std::string_view note;   // what differs, for the warning
};
const std::vector<StormAlias>& storm_aliases();
const StormAlias* find_storm_alias(std::string_view cls);

// The last part of a qualified Java class name ("org.apache.storm.kafka.spout.KafkaSpout" ->
// "KafkaSpout", "a.B$C" -> "C"); nullopt when `cls` has no '.' or '$' (not qualified).
std::optional<std::string> java_simple_name(std::string_view cls);

// Flux component keys Sleet reads but does not act on, with the warning that says what is
// ignored and why. nullopt: not such a key.
std::optional<std::string> flux_ignored_component_key(std::string_view key);
// The same for top-level keys (workerHooks).
std::optional<std::string> flux_ignored_top_level_key(std::string_view key);
const std::vector<std::string>& flux_ignored_component_keys();
const std::vector<std::string>& flux_ignored_top_level_keys();

}  // namespace sleet::dsl
