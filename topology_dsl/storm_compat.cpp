#include "topology_dsl/storm_compat.hpp"

namespace sleet::dsl {

const std::vector<StormAlias>& storm_aliases() {
  static const std::vector<StormAlias> k = {
      {"org.apache.storm.kafka.spout.KafkaSpout", "KafkaSpout",
       "storm-kafka-client's spout; Sleet's takes topic and bootstrap.servers as args (a "
       "KafkaSpoutConfig reference is not read) and emits key, value, partition, offset, "
       "timestamp, headers, key_null, value_null"},
      {"org.apache.storm.kafka.bolt.KafkaBolt", "KafkaSink",
       "storm-kafka-client's bolt; Sleet's takes topic (and key.field) as args, exactly-once by "
       "default"},
      {"org.apache.storm.flux.wrappers.bolts.LogInfoBolt", "StdoutSink",
       "prints each tuple on stdout instead of logging it"},
      {"org.apache.storm.testing.PrinterBolt", "StdoutSink", "prints each tuple on stdout"},
      {"org.apache.storm.starter.bolt.PrinterBolt", "StdoutSink", "prints each tuple on stdout"},
  };
  return k;
}

const StormAlias* find_storm_alias(std::string_view cls) {
  for (const auto& a : storm_aliases())
    if (a.storm == cls) return &a;
  return nullptr;
}

std::optional<std::string> java_simple_name(std::string_view cls) {
  const auto p = cls.find_last_of(".$");
  if (p == std::string_view::npos || p + 1 == cls.size()) return std::nullopt;
  return std::string(cls.substr(p + 1));
}

namespace {
struct KeyNote {
  const char* key;
  const char* why;
};
constexpr KeyNote kComponentKeys[] = {
    {"numTasks",
     "ignored: Sleet runs one task per unit of parallelism (each a fiber), so a component has "
     "`parallelism` tasks; set parallelism to the number of tasks you want"},
    {"config",
     "ignored: per-component config is not supported; put settings in the topology's config: "
     "(all components see it) or in args"},
    {"onHeapMemoryLoad",
     "ignored: Sleet has no resource-aware scheduler; tasks are spread over workers evenly "
     "(docs/cluster.md)"},
    {"offHeapMemoryLoad",
     "ignored: Sleet has no resource-aware scheduler; tasks are spread over workers evenly "
     "(docs/cluster.md)"},
    {"cpuLoad",
     "ignored: Sleet has no resource-aware scheduler; tasks are spread over workers evenly "
     "(docs/cluster.md)"},
};
constexpr KeyNote kTopLevelKeys[] = {
    {"workerHooks",
     "ignored: worker hooks are Java classes Storm runs in its worker JVM; Sleet has none (a "
     "plugin's component can do set-up in open())"},
};

template <size_t N>
std::optional<std::string> find_note(const KeyNote (&t)[N], std::string_view key) {
  for (const auto& k : t)
    if (key == k.key) return "Flux key '" + std::string(k.key) + "' " + k.why;
  return std::nullopt;
}
template <size_t N>
std::vector<std::string> keys_of(const KeyNote (&t)[N]) {
  std::vector<std::string> v;
  for (const auto& k : t) v.emplace_back(k.key);
  return v;
}
}  // namespace

std::optional<std::string> flux_ignored_component_key(std::string_view key) {
  return find_note(kComponentKeys, key);
}
std::optional<std::string> flux_ignored_top_level_key(std::string_view key) {
  return find_note(kTopLevelKeys, key);
}
const std::vector<std::string>& flux_ignored_component_keys() {
  static const auto k = keys_of(kComponentKeys);
  return k;
}
const std::vector<std::string>& flux_ignored_top_level_keys() {
  static const auto k = keys_of(kTopLevelKeys);
  return k;
}

}  // namespace sleet::dsl
