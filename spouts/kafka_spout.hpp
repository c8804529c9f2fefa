// KafkaSpout: reads one topic with explicitly assigned partitions (no consumer group, no commits;
// the checkpoint's positions are the only source of truth) and emits one tuple per record:
// key (string, "" for a null key), value (string, "" for a null value), partition (int64),
// offset (int64), timestamp (int64 ms since the epoch, -1 if the record has none), headers
// (bytes: the record's headers in the <sleet/kafka_headers.hpp> encoding, empty if none),
// key_null and value_null (bool: the record's key / value is null, not merely empty). The first
// five are in the order they always had; the other three came with issue 14.
//
// Event time (docs/time-and-windows.md): each tuple's Tuple::timestamp() is the record's Kafka
// timestamp, or the integer in the field `timestamp_field` names ("none": no event time). The
// task's watermark is the minimum over its active partitions of (largest timestamp read - the
// `max_out_of_orderness_ms` bound - 1); a partition with no record for `idle_timeout_ms` (0:
// never) is left out, and a task with no active partition reports kIdleWatermark. The largest
// timestamp per partition is checkpointed with the positions (EventTimeCheckpointed), so after a
// restore the watermark resumes where the checkpoint left it; a checkpoint without them (older
// than manifest format 5) leaves them unknown, as before.
//
// Threading: every method runs on the task's fiber (Component contract). next_batch never blocks:
// it takes what the consumer has prefetched (rd_kafka_consume_batch_queue with timeout 0) and
// returns 0 when there is nothing, so the runtime parks the fiber. open() waits for metadata and
// offsets on a helper thread (this_task::run_blocking), suspending only the fiber.
// A FetchWaker thread per task with partitions keeps the bounded prefetch fed (kafka/kafka.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <sleet/component.hpp>

#include "core/checkpoint_contract.hpp"
#include "kafka/kafka.hpp"

namespace sleet::kafka {

// The partitions task `task` of `parallelism` owns: the partition ids are sorted and the i-th goes
// to task i % parallelism (for Kafka's dense ids 0..n-1 that is simply p % parallelism). Every
// partition is owned by exactly one task and the tasks' counts differ by at most one; duplicates in
// the input are ignored. Pure; any thread.
std::vector<int32_t> assign_partitions(const std::vector<int32_t>& partitions, int task,
                                       int parallelism);

// What KafkaSpout does with an error event from its consumer queue, decided by the error's class
// (kafka::classify, then include/sleet/status.hpp): fatal -> fail the spout (the topology stops;
// the worker exits as Status::worker_exit() says); retriable or abort -> give up this event, log
// it now and then, and keep consuming (librdkafka keeps retrying the fetch); _PARTITION_EOF is no
// error. A fatal client state (rd_kafka_fatal_error) fails whatever the event. Pure; any thread.
enum class ConsumeErrorAction { ignore, log_and_continue, fail };
ConsumeErrorAction consume_error_action(rd_kafka_resp_err_t err);

class KafkaSpout : public Spout, public EventTimeCheckpointed {
 public:
  explicit KafkaSpout(const Args& args);
  ~KafkaSpout() override;

  Fields output_fields() const override {
    return {"key",       "value",   "partition", "offset",
            "timestamp", "headers", "key_null",  "value_null"};
  }
  Status open(Context& ctx) override;
  void close() override;
  Result<size_t> next_batch(Collector& out) override;
  // One entry per owned partition, idle and empty ones included: the offset of the next record to
  // read (last emitted + 1; for a partition not read yet, the resolved start offset).
  SourcePositions positions() const override;
  // Called before open(): open() assigns exactly these offsets to the partitions they name,
  // after checking that they were recorded on the same Kafka cluster and lie within the
  // partitions' logs (else on_offset_out_of_range decides; by default incompatible).
  Status seek(const SourcePositions& positions) override;
  // Called by the engine before open(); notes whether a checkpoint exists (n != 0), in which case
  // the `offsets` argument is ignored.
  Status on_recover(CheckpointId n, Context& ctx) override;
  // Every owned partition's next offset has reached its high watermark (as last seen by the
  // consumer); a task without partitions is drained once opened.
  bool drained() const override;
  int64_t watermark() const override;
  // The largest event time read per owned partition (those read at all; event time on).
  SourceEventTimes event_times() const override;
  // Before open(): the partitions this task will own take their recorded largest event time.
  void restore_event_times(const SourceEventTimes& recorded) override;

 private:
  struct Part {
    int32_t id = 0;
    int64_t next = 0;                                     // offset of the next record to emit
    int64_t hi_open = -1;                                 // high watermark queried at open
    int64_t max_ts = kNoTimestamp;                        // largest event time read (event time on)
    std::chrono::steady_clock::time_point last_record{};  // for idle_timeout_ms
    // Gauges for the worker's metrics (core/metrics.hpp partition_gauge_name): set by adding the
    // change to a task counter, so they travel with every other counter.
    Counter* next_gauge = nullptr;
    Counter* hw_gauge = nullptr;
  };
  // The event time of a record, per timestamp_field; kNoTimestamp: none.
  int64_t event_time(const Values& v) const;
  // Updates the partition gauges: every idle turn, else every 64th batch (one cached watermark
  // look-up per partition, no broker round trip).
  void update_gauges();
  uint32_t gauge_tick_ = 0;
  Part* part(int32_t id) {
    return id >= 0 && static_cast<size_t>(id) < slot_.size() && slot_[id] >= 0 ? &parts_[slot_[id]]
                                                                               : nullptr;
  }
  Status handle_error(const rd_kafka_message_t& m);
  // Refuses checkpointed positions recorded on another Kafka cluster (open(), before any range).
  Status check_cluster(const Context& ctx) const;
  // Checks the checkpointed positions of `mine` against their partitions' logs [lows, highs] and
  // applies on_offset_out_of_range; `stored` holds them and is updated by a reset.
  Status check_checkpointed(Context& ctx, const std::vector<int32_t>& mine,
                            std::map<int32_t, int64_t>& stored,
                            const std::map<int32_t, int64_t>& lows,
                            const std::map<int32_t, int64_t>& highs);
  std::string who(const Context& ctx) const;  // names the task in refusals

  std::string topic_;
  std::string bootstrap_;
  std::string start_;
  size_t max_batch_;
  std::map<std::string, std::string> extra_conf_;
  std::map<int32_t, int64_t> given_;  // the `offsets` argument: partition -> first offset
  // `on_offset_out_of_range`: what a checkpointed offset outside its partition's log does:
  // "fail" (refuse the restore, incompatible), "earliest" or "latest" (reset, count, warn).
  std::string on_out_of_range_;
  std::string cluster_;  // id of the Kafka cluster read from ("" if it reports none)
  SourcePositions seek_to_;
  SourceEventTimes restored_times_;  // restore_event_times(), applied in open()
  bool from_checkpoint_ = false;     // seek() got positions or on_recover() a checkpoint

  std::string name_;  // "<component>-<task>" for messages
  bool opened_ = false;
  std::vector<Part> parts_;  // owned partitions, sorted by id
  std::vector<int> slot_;    // partition id -> index in parts_, -1 if not ours
  Handle rk_;
  Queue queue_;  // the consumer queue: messages of all assigned partitions, and errors
  // Restarts fetching once the queue has been full and drained again; destroyed before rk_.
  std::unique_ptr<FetchWaker> waker_;
  Counter* wakes_ = nullptr;  // "fetch_wakes": wake-ups asked for (task counter)
  std::vector<rd_kafka_message_t*> batch_;
  int64_t errors_logged_ = 0;
  // Event time: -1 none, else the index of the output field that holds it (4: the Kafka
  // timestamp). Watermark parameters as the arguments say.
  int ts_field_ = 4;
  int64_t out_of_order_ms_ = 0;
  std::chrono::milliseconds idle_timeout_{0};
  Counter* no_timestamp_ = nullptr;  // "no_timestamp": records without event time
};

// The optional `offsets` map argument (keys: partition numbers as text, values: non-negative
// integer offsets) as partition -> offset; an error names the bad key or value. Empty if absent.
Result<std::map<int32_t, int64_t>> offsets_from_arg(const Args& args, const std::string& name);

}  // namespace sleet::kafka
