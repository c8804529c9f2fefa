#include "cluster/dead_letter_sink.hpp"

#include <set>
#include <string>

namespace sleet {

Result<DeadLetterSink> kafka_dead_letter_sink(const TopologySpec& spec, const ComponentSpec& cs,
                                              TaskIndex) {
  if (cs.dead_letter_topic.empty())
    return Status::Invalid("component '" + cs.id +
                           "' has on_error: dead_letter but no dead_letter_topic");
  DeadLetterSink d;
  d.class_name = "KafkaSink";
  d.args = Args{{"topic", cs.dead_letter_topic}, {"format", "record"}};
  std::set<std::string> topics;
  for (auto& st : spec.streams) {
    if (st.to != cs.id) continue;
    const ComponentSpec* from = spec.find(st.from);
    if (from && from->class_name == "KafkaSpout") topics.insert(from->args.string_or("topic", ""));
  }
  if (topics.size() == 1) d.source_topic = *topics.begin();
  return d;
}

}  // namespace sleet
