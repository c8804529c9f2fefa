// The topology file: YAML (Storm Flux-shaped) -> TopologySpec, with every problem reported as
// `FILE:LINE:COL: error: MESSAGE`. Pure library code: it returns diagnostics, never prints.
// Reference of the format: docs/topology-file.md.
//
// Threading: load_topology() loads plugins into the registry, so call it before a topology starts,
// from one thread. validate_topology() and to_dot() only read.
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
  bool error = true;              // false: a warning, which does not fail the load
  std::string to_string() const;  // "FILE:LINE:COL: error: MESSAGE"
};

// Where a file said each part of the spec: the DSL's side table, kept out of TopologySpec (which
// plugins and embedders see). Indexed like the spec it came with: components[i] is
// spec.components[i], streams[i] is spec.streams[i], plugins[i] is spec.plugins[i]. An index past
// the end (a spec built in code, or edited after loading) reads as unknown (line 0), and
// diagnostics then fall back to the component's or stream's `loc`, or carry no file:line:col.
struct ComponentLocations {
  SourceLocation class_name;                   // the class: (or className:) value
  SourceLocation parallelism;                  // the parallelism: (or parallelismHint:) value
  std::map<std::string, SourceLocation> args;  // per argument name (args, properties, ctor args)
};
struct StreamLocations {
  SourceLocation from, to, grouping;  // grouping: the stream's own loc when it has none
  SourceLocation stream;              // `stream:` (or Flux's streamId); line 0 when not given
};
struct SourceMap {
  std::vector<ComponentLocations> components;
  std::vector<StreamLocations> streams;
  std::vector<SourceLocation> plugins;

  const ComponentLocations& component(size_t i) const;
  const StreamLocations& stream(size_t i) const;
  SourceLocation plugin(size_t i) const;
};

// A Kafka topic the topology file declares under `topics:` so `sleet run` can create it (and load
// a file into it). Only `sleet run` and `sleet validate` read these; a worker ignores them.
struct TopicSpec {
  std::string name;
  int partitions = 1;
  std::string input_file;  // optional, resolved against the file's directory; one record a line
  SourceLocation loc;
};

// What a topology file holds: the spec that runs, and beside it what only the DSL and
// `sleet run` need.
struct LoadedTopology {
  TopologySpec spec;
  SourceMap locations;
  std::vector<TopicSpec> topics;  // `topics:`, in file order
};

struct LoadOptions {
  std::map<std::string, std::string> overrides;  // --set key=value
  bool load_plugins = true;
  Registry* registry = nullptr;  // default Registry::global()
  // false: stop after parsing, substitution, includes, config checks and plugin loading (no graph
  // checks), e.g. to list the components a file's plugins provide.
  bool validate = true;
};

// Parse + substitute + includes + (optionally) load plugins + validate against the registry.
// Returns the spec, its locations and its topics only when there are no errors; `diagnostics`
// lists every problem found (and warnings), sorted by file, line and column.
Result<LoadedTopology> load_topology_file(const std::string& path, const LoadOptions& opts,
                                          std::vector<Diagnostic>& diagnostics);

// The same for text already in memory (tests, fuzzing): `path` names it in diagnostics, and
// relative includes and plugins are resolved against its directory.
Result<LoadedTopology> load_topology_file_text(const std::string& text, const std::string& path,
                                               const LoadOptions& opts,
                                               std::vector<Diagnostic>& diagnostics);

// load_topology_file / load_topology_file_text for callers that need only the spec.
Result<TopologySpec> load_topology(const std::string& path, const LoadOptions& opts,
                                   std::vector<Diagnostic>& diagnostics);
Result<TopologySpec> load_topology_text(const std::string& text, const std::string& path,
                                        const LoadOptions& opts,
                                        std::vector<Diagnostic>& diagnostics);

// Graph checks usable on a spec built in C++ too: ids, duplicates, unknown ids, cycles, fields
// grouping vs declared output fields, parallelism, unknown classes, arguments. Constructs each
// component through the registry (constructors are cheap; open() is not called) to learn its
// output fields. A spec built in C++ has no SourceMap: its diagnostics carry no file:line:col.
std::vector<Diagnostic> validate_topology(const TopologySpec& spec, const Registry& registry);

// An input file `sleet run` loads into a topic (`input:` under topics:, --input TOPIC=FILE) must be
// a regular file it can read: a directory, a device (/dev/zero), a pipe or an unreadable file is
// refused with the reason and the way out. Any thread.
[[nodiscard]] Status check_input_file(const std::string& path);

// Graphviz DOT of the topology: spouts as houses, bolts as boxes, edges labelled by grouping.
std::string to_dot(const TopologySpec& spec);

}  // namespace sleet
