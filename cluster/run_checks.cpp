#include "cluster/run_checks.hpp"

#include <set>

#include "core/config.hpp"

namespace sleet::cluster {

std::string refuse_unread_inputs(const TopologySpec& spec,
                                 const std::map<std::string, std::vector<std::string>>& inputs) {
  // Topics read by a KafkaSpout on the topology's own cluster (one with its own
  // bootstrap.servers reads another cluster, not the one inputs are loaded into).
  std::set<std::string> read;
  for (auto& c : spec.components)
    if (c.class_name == "KafkaSpout" && c.args.string_or("bootstrap.servers", "").empty())
      read.insert(c.args.string_or("topic", ""));
  for (auto& [topic, files] : inputs) {
    if (files.empty() || read.count(topic)) continue;
    std::string readers;
    for (auto& r : read) readers += (readers.empty() ? "" : ", ") + r;
    return "input " + files.front() + " is loaded into topic '" + topic +
           "', which no KafkaSpout of topology '" + spec.name + "' reads (" +
           (readers.empty() ? std::string("no KafkaSpout reads this cluster")
                            : "its KafkaSpouts read: " + readers) +
           "), so it would never be processed and --until-drained would wait forever; name a "
           "topic a spout reads (--input TOPIC=FILE), or add a KafkaSpout with topic: " +
           topic;
  }
  return "";
}

std::string refuse_drain_without_checkpoints(const TopologySpec& spec, bool until_drained) {
  auto config = WorkerConfig::from(spec.config);
  // A bad value is the validator's to report (exit 2), not this check's.
  if (!until_drained || !config.ok() || config->checkpoint_enabled) return "";
  return "--until-drained needs checkpoints (drained means a committed checkpoint covers all "
         "input and its output is visible), but checkpoint.enabled is false in topology '" +
         spec.name +
         "'; remove checkpoint.enabled: false (or --set checkpoint.enabled=true), or run without "
         "--until-drained and stop it with Ctrl-C";
}

}  // namespace sleet::cluster
