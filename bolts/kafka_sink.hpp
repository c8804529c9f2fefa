// KafkaSink: writes each input tuple as one Kafka record (value: tsv or jsonl encoding of the
// tuple; key: the text of `key.field`, or none).
//
// Exactly-once (default) without broker transactions (the protocol is in spouts/README.md):
// records of epoch n are buffered and belong to the sink's checkpoint; after checkpoint n commits,
// the sink stores a publish cursor {n, end offsets of the topic's partitions, published=false,
// its generation},
// produces the epoch with an idempotent producer (headers sleet.task, sleet.epoch, sleet.seq),
// waits for every delivery, and stores the cursor with published=true. Recovery resumes an
// unpublished epoch by scanning from the cursor's offsets for this task's records and producing
// only the missing sequence numbers. A sink that finds a cursor of a newer generation stops with
// `fenced`: a successor took over the cell (a fenced worker would otherwise publish its copy of a
// committed epoch a second time).
// at_least_once: records are produced at once; a barrier waits for their deliveries.
// format: record takes the record from the tuple as is: field `key` (when present and not empty)
// is the key, field `value` the value bytes, and every other field a header of the same name
// (its text). The engine's dead-letter sinks use it (runtime/engine.cpp).
//
// Threading: all methods run on the task's fiber (or, for on_recover, the thread starting the
// engine). Waiting for deliveries polls the producer and suspends only the fiber.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sleet/component.hpp>

#include "core/format.hpp"
#include "kafka/kafka.hpp"

namespace sleet::kafka {

// What KafkaSink keeps in its CursorStore cell "<component>-<task>". Encoded as one readable line,
// e.g. "v2 epoch=7 published=0 generation=3 offsets=0:120,1:98,2:131" ("v1" and no generation
// when it is 0, as written before generations).
struct PublishCursor {
  int64_t epoch = 0;
  bool published = false;
  // The generation (Context::generation) of the sink that stored it. A sink finding a newer one
  // was fenced: its successor owns the cell, and publishing too would duplicate records.
  int32_t generation = 0;
  std::map<int32_t, int64_t> offsets;  // end offset of every target partition before publishing
  std::string encode() const;
  static Result<PublishCursor> decode(const std::string& text);
  bool operator==(const PublishCursor&) const = default;
};

class KafkaSink : public Bolt {
 public:
  // Header names on every record published in exactly_once mode.
  static constexpr const char* kTaskHeader = "sleet.task";    // "<component>-<task>"
  static constexpr const char* kEpochHeader = "sleet.epoch";  // decimal epoch
  static constexpr const char* kSeqHeader = "sleet.seq";      // decimal index within the epoch

  explicit KafkaSink(const Args& args);
  ~KafkaSink() override;

  bool stateful() const override { return exactly_once_; }
  // 2: records carry headers (format: record); version 1 state is still read.
  uint32_t state_version() const override { return 2; }
  void snapshot_state(StateWriter& w) const override;
  Status restore_state(StateReader& r, uint32_t version) override;

  Status on_recover(CheckpointId n, Context& ctx) override;
  Status open(Context& ctx) override;
  void execute(const Tuple& input, Collector& out) override;
  Status on_barrier(CheckpointId n, Collector& out) override;
  Status on_checkpoint_committed(CheckpointId n) override;
  void close() override;

  // Introspection for tests and status output: buffered epochs not yet fully published.
  size_t pending_epochs() const { return pending_.size(); }

  struct Record {
    bool has_key = false;
    std::string key;
    std::string value;
    std::vector<std::pair<std::string, std::string>> headers;  // format: record only
    template <class A>
    void serialize(A& ar) {
      ar(has_key, key, value, headers);
    }
  };
  struct Epoch {
    int64_t id = 0;
    std::vector<Record> records;
    template <class A>
    void serialize(A& ar) {
      ar(id, records);
    }
  };

 private:
  Status init(Context& ctx);
  Status publish_up_to(int64_t n);
  Status publish_epoch(const Epoch& e);
  // Marks in `done` the sequence numbers of epoch e already in the topic (written by an earlier
  // attempt), scanning every partition from the cursor's offsets to its current end.
  Status scan_published(const PublishCursor& c, const Epoch& e, std::vector<bool>& done);
  Status produce(const Record& r, const Epoch* e, size_t seq);
  Status store_cursor(PublishCursor c);
  // Reads the stored cursor into cursor_; fenced if a newer generation stored it.
  Status load_cursor();
  Record make_record(const Tuple& t);

  // configuration
  std::string topic_;
  std::string bootstrap_;
  bool exactly_once_ = true;
  RecordFormat format_ = RecordFormat::tsv;
  bool record_format_ = false;  // format: record
  std::string key_field_;
  std::chrono::milliseconds timeout_{60'000};
  std::map<std::string, std::string> extra_conf_;

  // set by init()
  std::string name_;  // "<component>-<task>": cursor key and sleet.task header
  CursorStore* cursors_ = nullptr;
  int32_t generation_ = 0;
  Counter* published_counter_ = nullptr;
  DeliveryTracker tracker_;  // declared before producer_: the producer's callbacks point at it
  Handle producer_;
  Topic rkt_;

  // key field lookup cache
  const Fields* key_fields_ = nullptr;
  int key_index_ = -1;

  // exactly_once state
  std::vector<Record> current_;          // records since the last barrier
  std::vector<Epoch> pending_;           // closed epochs, oldest first, not yet published
  std::optional<PublishCursor> cursor_;  // mirror of the stored cursor (nullopt: none yet)
  int64_t produced_since_poll_ = 0;
};

}  // namespace sleet::kafka
