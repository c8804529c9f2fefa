// The generative exactly-once test's pure part: a seed draws a topology shape (topics, spouts,
// stateless Tag and keyed stateful KeyedCount bolts from tests/plugins/gen_bolts.cpp, FileSinks,
// streams with random groupings and parallelism), the input records, the topology YAML, and the
// order-independent rules every sink's output must satisfy. No processes, no I/O: the same seed
// gives the same shape, input and rules on every machine, so a failing seed can be rerun.
//
// Records: topic label tI, sequence number q, key kJ; the Kafka record has key "kJ" and value
// "tI:q kJ". What reaches a sink, one tsv line per tuple:
//   - straight from a spout (KafkaSpout): key, value, partition, offset, timestamp (5 fields);
//   - from a Tag: id ("tI:q"), key, path (3 fields), where path is the '>'-joined ids of the Tags
//     the tuple went through, in order (a tuple keeps no trace of which spout read it, so two
//     spouts on one topic into one Tag give equal lines: the rules count them as a multiset);
//   - from a KeyedCount: key, count, bolt id, sum (4 fields): after each update of a key, its
//     number of updates and the sum of the sequence numbers of the records counted.
// Rules, for each sink: the multiset of record lines (spout/Tag) is exactly the multiset of
// (record, path) pairs over every path from a spout to the sink (every record once per path);
// for each KeyedCount k feeding it and each key, the counts 1..N each exactly once, where N is the
// number of arrivals of that key's records at k over all its input paths, and the line with count
// N carries the sum of their sequence numbers (the final value).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sleet::test::gen {

enum class Kind { spout, tag, count, sink };
enum class Grouping { shuffle, global, local_or_shuffle, fields };
const char* grouping_name(Grouping g);

// The time over which a runner is assumed to feed the input, for sizing slow Tags.
inline constexpr double kSlowFeedSeconds = 6.0;

struct Topic {
  std::string label;  // t0, t1, ...: the record ids' prefix; the Kafka topic is <prefix>_<label>
  int partitions = 1;
};

struct Component {
  std::string id;
  Kind kind = Kind::tag;
  int parallelism = 1;
  int topic = -1;  // spouts: index into Shape::topics
  // Tags: pause this long per tuple (suspending only the fiber), so that the spouts upstream lag
  // behind the log end by different amounts and checkpoint different positions. Chosen so that
  // the Tag needs longer for its input than the kSlowFeedSeconds over which it arrives.
  int slow_us = 0;
  // Spouts: KafkaSpout's max.batch (0: its default, 1024). A spout hands on a barrier only between
  // batches, so behind a slow Tag a big batch holds up every checkpoint for seconds.
  int max_batch = 0;
};

struct Stream {
  int from = 0, to = 0;  // indices into Shape::components
  Grouping grouping = Grouping::shuffle;
  std::string field;  // fields grouping: the one field hashed
  // How the YAML spells it: 0 a word (`shuffle`), 1 a map (`{type: fields, fields: [key]}`),
  // 2 Flux's upper-case map (`{type: FIELDS, args: [key]}`).
  int form = 0;
};

struct Shape {
  uint64_t seed = 0;
  std::vector<Topic> topics;
  std::vector<Component> components;  // in topological order: spouts, tags, counts, sinks
  std::vector<Stream> streams;
  int keys = 2;               // key alphabet k0 .. k<keys-1>
  int records_per_topic = 0;  // sequence numbers 0 .. records_per_topic-1 in every topic
  int threads = 1;            // worker.threads
  bool chaining = true;       // worker.chaining
  // worker.batch.size and worker.channel.capacity: small ones back-pressure spouts behind a slow
  // Tag at once (the defaults buffer 8192 tuples per channel, the whole input of a small run).
  int batch_size = 512, channel_capacity = 16;
  std::vector<int> inputs_of(int c) const;  // indices of the components streaming into c
  int count(Kind k) const;
};

struct Options {
  bool shared_topics = true;  // false: every spout reads a topic of its own (development only)
  int min_records = 500, max_records = 1200;  // per topic
};

Shape draw(uint64_t seed, const Options& options = {});

struct Record {
  int topic = 0;
  int64_t seq = 0;
  int key = 0;
  int partition = 0;
  std::string id() const;        // "t0:17"
  std::string key_text() const;  // "k3"
  std::string value() const;     // "t0:17 k3"
};
// Every topic's records, seeded by the shape's seed: keys skewed, partitions random (some may
// stay empty, which must not stall checkpoints).
std::vector<Record> draw_input(const Shape& shape);

struct YamlParams {
  std::string name;          // topology name
  std::string topic_prefix;  // Kafka topic of topic t is <topic_prefix>_<label>
  std::string plugin;        // path of libsleet_gen_bolts.so
  std::string out_dir;       // sink s writes to <out_dir>/<sink id>
  std::string bootstrap, zookeeper, checkpoint_dir;
  int checkpoint_interval_ms = 200;
};
std::string to_yaml(const Shape& shape, const YamlParams& params);
std::string kafka_topic(const Shape& shape, const YamlParams& params, int topic);

// A compact one-line-per-component description for failure messages.
std::string describe(const Shape& shape);

// The rules for one sink, computed from the input and the shape alone.
struct SinkRules {
  std::map<std::string, int64_t> lines;  // "id\tkey\tpath" -> how many times
  struct KeyTotal {
    int64_t updates = 0;
    int64_t sum = 0;
  };
  std::map<std::string, std::map<std::string, KeyTotal>> counts;  // bolt id -> key -> total
  int64_t total_lines() const;
};
std::map<std::string, SinkRules> expectations(const Shape& shape, const std::vector<Record>& input);

// A description of the first few ways `lines` (one sink's output) breaks `rules`: missing or
// repeated records, unexpected lines, gaps or repeats in a key's counts, a wrong final sum.
// Empty when the output is exact.
std::string check_sink(const SinkRules& rules, const std::vector<std::string>& lines);

// The output a correct run produces, computed another way: every record pushed through the graph
// tuple by tuple, as the bolts would (for cross-checking expectations(); order as simulated).
std::map<std::string, std::vector<std::string>> simulate(const Shape& shape,
                                                         const std::vector<Record>& input);

}  // namespace sleet::test::gen
