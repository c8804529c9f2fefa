// What loader.cpp and validate.cpp share inside topology_dsl.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "topology_dsl/loader.hpp"

namespace sleet::dsl {

// What only a file knows, beside the spec: its SourceMap and topics (returned to the caller in
// LoadedTopology) and locations and facts only the checks need.
struct ExtraLocations {
  SourceMap map;
  std::vector<TopicSpec> topics;
  SourceLocation name;                           // the `name:` value
  std::map<std::string, SourceLocation> config;  // per config key (or the --set override)
  // Components whose class: could not be read (a failed ${VAR}): reported already, so the class
  // and argument checks skip them.
  std::set<size_t> unreadable_class;
  bool plugin_failed = false;  // a plugin could not be loaded: it may hold an unknown class
};

// validate_topology with the extra locations: diagnostics point at the file's lines when known.
std::vector<Diagnostic> validate(const TopologySpec& spec, const Registry& registry,
                                 const ExtraLocations& extra);

// Checks known config keys' values (numbers, booleans, ranges) and warns about unknown keys in
// Sleet's own namespaces (checkpoint., worker., zookeeper., kafka.) with a suggestion.
std::vector<Diagnostic> check_config(const std::map<std::string, std::string>& config,
                                     const std::map<std::string, SourceLocation>& locs,
                                     const SourceLocation& fallback);

// Most tasks one component may have: each task is a fiber with channels to every downstream
// task, so a typo like 100000 would exhaust memory instead of failing clearly.
inline constexpr int kMaxParallelism = 10'000;

}  // namespace sleet::dsl
