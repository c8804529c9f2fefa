// Loading input files into Kafka for `sleet run`: pacing by time (--input-rate) and flow control
// against the embedded Kafka's retention. librdkafka's mock cluster keeps only about 5 MiB or
// 100,000 batches per partition and silently drops older data, so the loader keeps each
// partition's backlog (records it produced that the spouts' last committed checkpoint does not
// cover yet) within a byte and a record budget well below that, and waits for checkpoints to
// commit when a partition is full. Any input size then works on the embedded default.
//
// Threading: load_file runs on the loader thread of run() (cmd_run.cpp); `committed` is called
// from it. The pure parts (PartitionLedger, records_due) may be used anywhere.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sleet/status.hpp>

namespace sleet::cluster {

// The mock keeps 5 MiB and 100,000 batches per partition (librdkafka 2.0.2 rdkafka_mock.c); a
// record is at least one batch. Half of that or less leaves room for what arrives while the
// status of a newer checkpoint is on its way.
struct BacklogBudget {
  int64_t max_records = 40'000;
  int64_t max_bytes = 2 << 20;
};
// Bytes a record takes in the log beyond key and value (record and batch headers, generously).
inline constexpr int64_t kRecordOverheadBytes = 70;

// What one loader produced into one partition and the spouts have not committed yet. Offsets of
// the records it produced are consecutive from `base_offset` (the partition's end when loading
// started; `sleet run` is the topic's only producer while it loads).
class PartitionLedger {
 public:
  explicit PartitionLedger(int64_t base_offset = 0) : base_(base_offset) {}
  void produced(int64_t bytes);
  // The spouts' committed next offset: everything below it may go.
  void committed(int64_t next_offset);
  int64_t backlog_records() const { return static_cast<int64_t>(sizes_.size()); }
  int64_t backlog_bytes() const { return bytes_; }
  // Whether one more record of `bytes` keeps the backlog within `b`. An empty backlog always has
  // room (a single record larger than the byte budget still goes, alone).
  bool has_room(int64_t bytes, const BacklogBudget& b) const;

 private:
  int64_t base_;               // offset of sizes_.front()
  std::deque<int64_t> sizes_;  // bytes of each uncommitted record, in offset order
  int64_t bytes_ = 0;
};

// Pacing by time, not by flushes: how many records are due `elapsed_s` after loading started at
// `rate` records/s (the first one at once). Callers send while sent < records_due(...), and
// otherwise sleep until due_at(sent, rate).
int64_t records_due(double elapsed_s, double rate);
// Seconds after the start at which record number `index` (0-based) is due.
double due_at(int64_t index, double rate);

struct LoadOptions {
  std::string bootstrap;
  std::string topic;
  std::vector<int32_t> partitions;  // as the cluster reports them
  std::filesystem::path file;
  double rate = 0;  // records/s; 0: as fast as the producer goes
  // Flow control (the embedded Kafka, topics a spout reads): the spouts' committed next offset per
  // "topic:partition" (may be stale, never ahead). Empty function: no flow control.
  std::function<std::map<std::string, int64_t>()> committed;
  BacklogBudget budget;
};

struct LoadProgress {
  std::atomic<int64_t> loaded{0};
  std::atomic<bool> held_back{false};  // waiting for a checkpoint to make room
};

// One line of an input file: an optional key before the first tab, then the value. Both are
// tsv-unescaped (core/format.hpp: \t \n \r \\), the escapes every tsv sink writes, so a
// FileSink's tsv output of (key, value) tuples loads back as the same records. Pure.
struct InputLine {
  std::string key;  // "" when the line has no tab (the record gets no key)
  std::string value;
};
InputLine split_input_line(std::string_view line);

// Produces every line of `file` into `topic` (key before a tab, optional; split_input_line). Keyed
// lines go to the partition librdkafka's default partitioner would choose (consistent hash);
// keyless ones round robin over `partitions`. Every delivery report is checked, so a record the
// broker refused is an error, not a silent gap. Returns the number of records once all are
// acknowledged.
Result<int64_t> load_file(const LoadOptions& o, LoadProgress& progress,
                          const std::atomic<bool>& cancel);

// One topic's share of the input of a run.
struct LoadPlan {
  std::string topic;
  std::vector<int32_t> partitions;
  std::vector<std::filesystem::path> files;
  bool flow_control = false;  // the embedded Kafka and a spout reads it (with checkpoints)
  bool drain_to_end = false;  // a spout reads it: --until-drained waits for its end offsets
};

// All input files of a run, loaded one after the other on a thread of its own. The spouts'
// committed positions come from the worker's status file (any worker's: committed positions only
// grow), or with N workers from every `*.json` status file in the directory `status_file` names.
// Threading: all methods from run()'s thread; the destructor cancels and joins.
class InputLoader {
 public:
  InputLoader(std::string bootstrap, std::vector<LoadPlan> plans, double rate,
              std::filesystem::path status_file);
  ~InputLoader();
  InputLoader(const InputLoader&) = delete;
  InputLoader& operator=(const InputLoader&) = delete;
  void start();
  // Until everything is loaded, or the flow control waits for the worker (which must start then).
  void wait_until_done_or_held_back();
  bool done() const { return done_.load(); }
  int64_t loaded() const { return progress_.loaded.load(); }
  bool held_back() const { return progress_.held_back.load(); }
  // After done(): the first error, if any; and the end offsets ("topic:partition") of every
  // drain_to_end topic, read after the last record was acknowledged.
  Status status() const;
  std::map<std::string, int64_t> final_ends() const;

 private:
  void run();
  std::string bootstrap_;
  std::vector<LoadPlan> plans_;
  double rate_;
  std::filesystem::path status_file_;
  LoadProgress progress_;
  std::atomic<bool> cancel_{false}, done_{false};
  mutable std::mutex mu_;
  Status status_;
  std::map<std::string, int64_t> final_ends_;
  std::thread thread_;
};

}  // namespace sleet::cluster
