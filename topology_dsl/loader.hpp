// The topology file: YAML (Storm Flux-shaped) -> TopologySpec, with every problem reported as
// `FILE:LINE:COL: error: MESSAGE`. Pure library code: it returns diagnostics, never prints.
//
// Threading: load_topology() loads plugins into the registry, so call it before a topology starts,
// from one thread.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <sleet/registry.hpp>
#include <sleet/topology.hpp>

namespace sleet {

struct Diagnostic {
  SourceLocation loc;
  std::string message;
  bool error = true;
  std::string to_string() const;  // "FILE:LINE:COL: error: MESSAGE"
};

struct LoadOptions {
  std::map<std::string, std::string> overrides;  // --set key=value
  bool load_plugins = true;
  Registry* registry = nullptr;  // default Registry::global()
};

// Parse + substitute + includes + (optionally) load plugins + validate against the registry.
// Returns the spec only when there are no errors; `diagnostics` lists every problem found.
Result<TopologySpec> load_topology(const std::string& path, const LoadOptions& opts,
                                   std::vector<Diagnostic>& diagnostics);

// Graph checks usable on a spec built in C++ too: unknown ids, duplicates, cycles, fields
// grouping vs declared output fields, parallelism, unknown classes, arguments.
std::vector<Diagnostic> validate_topology(const TopologySpec& spec, const Registry& registry);

// Graphviz DOT of the topology.
std::string to_dot(const TopologySpec& spec);

}  // namespace sleet
