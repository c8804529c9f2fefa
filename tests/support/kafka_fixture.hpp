// Kafka helpers for tests: an embedded mock cluster, a synchronous producer and a read-everything
// consumer (both plain librdkafka, independent of KafkaSpout/KafkaSink), a Collector that keeps
// what it gets, an in-memory CursorStore, and a Context for driving components without a runtime.
// Failures throw std::runtime_error (tests want a failure, not a Status to check).
//
// Threading: call from the test's thread; the producer/consumer helpers wait with bounded polls.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sleet/component.hpp>

#include "kafka/kafka.hpp"

namespace sleet::test {

// A started mock cluster with the given topics ({name, partitions}).
std::unique_ptr<kafka::MockCluster> start_kafka(
    const std::vector<std::pair<std::string, int>>& topics, int brokers = 1);

struct ProduceRecord {
  std::optional<std::string> key;
  std::string value;
  int32_t partition = -1;  // -1: let the partitioner choose
  std::map<std::string, std::string> headers;
  int64_t timestamp = 0;  // the record's CreateTime in ms; 0: now (the producer's clock)
};

// Produces all records (idempotent producer) and waits for every delivery report.
void produce(const std::string& bootstrap, const std::string& topic,
             const std::vector<ProduceRecord>& records,
             std::chrono::milliseconds timeout = std::chrono::seconds(20));

struct ConsumedRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<std::string> key;
  std::string value;
  std::map<std::string, std::string> headers;
};

// Every record of every partition of `topic` from the beginning up to the end offsets queried at
// the start of the call, ordered by (partition, offset).
std::vector<ConsumedRecord> consume_all(
    const std::string& bootstrap, const std::string& topic,
    std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Keeps every emitted tuple.
class VectorCollector : public Collector {
 public:
  void emit(Values&& values) override { tuples.push_back(std::move(values)); }
  std::vector<Values> tuples;
};

// The ZooKeeper-backed store's contract, in memory.
class MemoryCursorStore : public CursorStore {
 public:
  Result<std::string> load(const std::string& key) override;
  Status store(const std::string& key, const std::string& value) override;
  std::map<std::string, std::string> cells;
  int stores = 0;
};

// A task context as the runtime would build it.
Context make_context(const std::string& component, int task, int parallelism,
                     std::map<std::string, std::string> config = {},
                     CursorStore* cursors = nullptr);

}  // namespace sleet::test
