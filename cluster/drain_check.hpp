// What `sleet run` concludes from the worker's status file and the embedded Kafka: when a run is
// drained (--until-drained), and whether the embedded Kafka dropped records (its mock cluster
// trims each partition's oldest data past about 5 MiB without a word).
//
// Threading: the pure functions anywhere; RetentionWatch's methods from run()'s thread (it runs
// its queries on a thread of its own).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sleet::cluster {

// "topic:partition" -> committed next offset, from the "positions" field of a status line
// (WorkerProgress::to_json). Empty when absent.
std::map<std::string, int64_t> parse_positions(const std::string& status_json);

// Inputs of the drain decision.
struct DrainFacts {
  pid_t worker_pid = 0;       // the worker now running
  std::string status;         // its status file, as read
  bool loading_done = false;  // every record loaded and acknowledged
  // End offsets of the loaded partitions a spout reads, read after loading finished
  // ("topic:partition" -> end).
  std::map<std::string, int64_t> final_ends;
};

// Drained: the status is the current worker's (a previous run's or a dead worker's file does not
// count), loading is finished, the last committed checkpoint has every spout at the end of its
// input and is visible, and its committed position of every loaded partition has reached the end
// offset read after loading. `why_not` (when given) says what is missing.
bool is_drained(const DrainFacts& f, std::string* why_not = nullptr);

// A drop the embedded Kafka made: the log of `partition` now starts at `log_start`.
struct Drop {
  std::string topic;
  int32_t partition = 0;
  int64_t log_start = 0;
  int64_t lost = 0;  // records gone that no committed checkpoint had read (or that no one reads)
};

// Which drops are losses. Every topic's log starts at 0 on the embedded Kafka, so a log start above
// 0 means the mock trimmed it. For a topic a spout reads, only what lies below the log start and
// at or above the committed position is lost (what was committed is processed); for others
// (KafkaSink output, dead letters) every trimmed record is lost to whoever reads it later.
// `log_starts`: "topic:partition" -> log start; `read_by_spout`: topics a spout reads.
std::vector<Drop> losses(const std::map<std::string, int64_t>& log_starts,
                         const std::map<std::string, int64_t>& committed,
                         const std::vector<std::string>& read_by_spout);

// The hint printed with a drop.
std::string drop_way_out();

// Watches the log start of every partition of the given topics on the embedded Kafka, every
// `interval`, on a thread of its own.
class RetentionWatch {
 public:
  RetentionWatch(std::string bootstrap, std::map<std::string, std::vector<int32_t>> topics,
                 std::chrono::milliseconds interval = std::chrono::milliseconds(500));
  ~RetentionWatch();
  RetentionWatch(const RetentionWatch&) = delete;
  RetentionWatch& operator=(const RetentionWatch&) = delete;
  // The latest log starts seen ("topic:partition" -> offset).
  std::map<std::string, int64_t> log_starts() const;

 private:
  void run();
  std::string bootstrap_;
  std::map<std::string, std::vector<int32_t>> topics_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<std::string, int64_t> starts_;
  std::thread thread_;
};

}  // namespace sleet::cluster
