// kafka_dead_letter_sink, the worker's EngineOptions::dead_letter_sink, as a table (pure).
#include <gtest/gtest.h>

#include "cluster/dead_letter_sink.hpp"

using namespace sleet;

namespace {

TEST(KafkaDeadLetterSink, AKafkaSinkOfRecordsWithTheOneFeedingTopic) {
  struct Row {
    const char* name;
    TopologySpec spec;
    std::string source_topic;
  };
  const std::vector<Row> rows = {
      {"one KafkaSpout feeds it",
       TopologyBuilder("t")
           .spout("in", "KafkaSpout", 1, {{"topic", "words"}})
           .bolt("b", "B", 2)
           .on_error(ErrorPolicy::dead_letter, "errors")
           .stream("in", "b")
           .build(),
       "words"},
      {"two KafkaSpouts on one topic",
       TopologyBuilder("t")
           .spout("in", "KafkaSpout", 1, {{"topic", "words"}})
           .spout("in2", "KafkaSpout", 1, {{"topic", "words"}})
           .bolt("b", "B", 2)
           .on_error(ErrorPolicy::dead_letter, "errors")
           .stream("in", "b")
           .stream("in2", "b")
           .build(),
       "words"},
      {"two topics: none named",
       TopologyBuilder("t")
           .spout("in", "KafkaSpout", 1, {{"topic", "words"}})
           .spout("in2", "KafkaSpout", 1, {{"topic", "other"}})
           .bolt("b", "B", 2)
           .on_error(ErrorPolicy::dead_letter, "errors")
           .stream("in", "b")
           .stream("in2", "b")
           .build(),
       ""},
      {"fed by a bolt: none named",
       TopologyBuilder("t")
           .spout("in", "KafkaSpout", 1, {{"topic", "words"}})
           .bolt("a", "A", 1)
           .bolt("b", "B", 2)
           .on_error(ErrorPolicy::dead_letter, "errors")
           .stream("in", "a")
           .stream("a", "b")
           .build(),
       ""},
  };
  for (auto& r : rows) {
    SCOPED_TRACE(r.name);
    const ComponentSpec& b = *r.spec.find("b");
    for (int i = 0; i < 2; ++i) {
      auto d = kafka_dead_letter_sink(r.spec, b, TaskIndex{i});
      ASSERT_TRUE(d.ok()) << d.status().to_string();
      EXPECT_EQ(d->class_name, "KafkaSink");
      EXPECT_EQ(d->args.string_or("topic", ""), "errors");
      EXPECT_EQ(d->args.string_or("format", ""), "record");
      EXPECT_EQ(d->source_topic, r.source_topic);
    }
  }
}

TEST(KafkaDeadLetterSink, NoDeadLetterTopicIsRefused) {
  auto spec = TopologyBuilder("t")
                  .spout("in", "KafkaSpout", 1, {{"topic", "words"}})
                  .bolt("b", "B", 1)
                  .on_error(ErrorPolicy::dead_letter)
                  .stream("in", "b")
                  .build();
  auto d = kafka_dead_letter_sink(spec, *spec.find("b"), TaskIndex{0});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::invalid_argument);
  EXPECT_EQ(d.status().message(),
            "component 'b' has on_error: dead_letter but no dead_letter_topic");
}

}  // namespace
