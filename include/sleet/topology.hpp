// A topology as plain data: what the YAML loader and the C++ TopologyBuilder both produce and what
// the runtime, validator and `sleet graph` consume. It holds what runs, not where the file said it:
// the fine-grained locations of a file (class:, parallelism:, each argument, a stream's from:/to:/
// grouping:, each plugin) and the `topics:` that `sleet run` creates are the DSL's, returned beside
// the spec by load_topology_file() (topology_dsl/loader.hpp: SourceMap, TopicSpec). `loc` below is
// only where a component or stream starts, empty (line 0) for a spec built in code.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sleet/args.hpp>
#include <sleet/registry.hpp>

namespace sleet {

struct SourceLocation {
  std::string file;
  int line = 0;  // 1-based; 0 when the spec was built in code
  int col = 0;
};

enum class GroupingType { shuffle, fields, all, global, local_or_shuffle, direct };
const char* grouping_name(GroupingType g);

struct Grouping {
  GroupingType type = GroupingType::shuffle;
  std::vector<std::string> fields;  // for fields grouping
};

// What a component does with a tuple whose processing throws.
enum class ErrorPolicy { fail, skip, dead_letter };
const char* error_policy_name(ErrorPolicy p);

// Id of the dead-letter sink task the engine runs beside each task of a component with
// ErrorPolicy::dead_letter: it names the sink's checkpointed state and its publish cursor.
inline std::string dead_letter_component_id(const std::string& component) {
  return component + ".dead_letter";
}

// Longest task key ("<component>-<task>") a snapshot blob may be stored under: it is a znode name
// and a file name (plus ".snap"). SnapshotStore refuses longer keys; `sleet validate` checks the
// ids of stateful components against it, so the limit lives here, below both.
inline constexpr size_t kMaxTaskKeyBytes = 200;

struct ComponentSpec {
  std::string id;
  std::string class_name;
  ComponentKind kind = ComponentKind::bolt;
  int parallelism = 1;
  Args args;
  ErrorPolicy on_error = ErrorPolicy::fail;
  std::string dead_letter_topic;  // for ErrorPolicy::dead_letter
  SourceLocation loc;
};

// A subscription: `to` reads output stream `stream` of `from` (a spout or bolt) with `grouping`.
struct StreamSpec {
  std::string from;
  std::string to;
  Grouping grouping;
  SourceLocation loc;
  std::string stream{kDefaultStream};  // which of from's output_streams()
};

struct TopologySpec {
  std::string name;
  std::map<std::string, std::string> config;
  std::vector<std::string> plugins;
  std::vector<ComponentSpec> components;  // spouts and bolts, in file order
  std::vector<StreamSpec> streams;
  std::string file;  // the main file, empty if built in code

  const ComponentSpec* find(const std::string& id) const;
  // The raw text of a config key. Sleet's own keys are read typed, with their defaults, through
  // WorkerConfig (core/config.hpp), which refuses a bad value instead of guessing.
  std::string config_or(const std::string& key, const std::string& def) const;
  // A hash over the graph's shape (name, each component's id, class and parallelism, the streams
  // and their groupings), recorded in every checkpoint manifest to tell at a glance which graph
  // wrote it (logs, `sleet` status, support). Recovery does NOT compare it: like Flink, which
  // checks each operator's state against its uid rather than a whole-graph hash, plan_recovery
  // (checkpointing/) checks compatibility per stateful component (still there, same class, same
  // parallelism, same input streams and key fields) and lets everything else change: stateless
  // components, config, args, new components. A changed fingerprint alone refuses nothing.
  std::string fingerprint() const;
};

// Fluent C++ construction of a TopologySpec (tests, embedders).
class TopologyBuilder {
 public:
  explicit TopologyBuilder(std::string name) { spec_.name = std::move(name); }
  TopologyBuilder& config(const std::string& k, const std::string& v) {
    spec_.config[k] = v;
    return *this;
  }
  TopologyBuilder& spout(const std::string& id, const std::string& cls, int parallelism,
                         Args args = {}) {
    return add(ComponentKind::spout, id, cls, parallelism, std::move(args));
  }
  TopologyBuilder& bolt(const std::string& id, const std::string& cls, int parallelism,
                        Args args = {}) {
    return add(ComponentKind::bolt, id, cls, parallelism, std::move(args));
  }
  TopologyBuilder& on_error(ErrorPolicy p, std::string dead_letter_topic = {});
  TopologyBuilder& stream(const std::string& from, const std::string& to, Grouping g = {});
  // A subscription to the named output stream `stream` of `from`.
  TopologyBuilder& named_stream(const std::string& from, const std::string& stream,
                                const std::string& to, Grouping g = {});
  TopologySpec build() const { return spec_; }

 private:
  TopologyBuilder& add(ComponentKind kind, const std::string& id, const std::string& cls,
                       int parallelism, Args args);
  TopologySpec spec_;
};

}  // namespace sleet
