// KafkaSink: writes each input tuple as one Kafka record (value: tsv or jsonl encoding of the
// tuple; key: the text of `key.field`, or none).
//
// Exactly-once (default) without broker transactions (the protocol, step by step, and its state
// table are in bolts/README.md): records of epoch n are buffered and belong to the sink's
// checkpoint; after checkpoint n commits, the sink stores a publish cursor {n, end offsets of the
// topic's partitions, published=false, its generation}, produces the epoch with an idempotent
// producer (headers sleet.task, sleet.epoch, sleet.seq), waits for every delivery, and stores the
// cursor with published=true. Recovery resumes an unpublished epoch by scanning from the cursor's
// offsets for this task's records and producing only the missing sequence numbers. A sink that
// finds a cursor of a newer generation stops with `fenced`: a successor took over the cell (a
// fenced worker would otherwise publish its copy of a committed epoch a second time). These steps
// are the PublishState machine below; publish_epoch() changes state only through it.
// at_least_once: records are produced at once; a barrier waits for their deliveries.
// Side effects (exactly_once): every cursor store and every epoch's produce first ask
// Context::side_effects (the worker's lease, cluster/lease.hpp); a refusal is a failed step (the
// call returns it, the epoch stays pending) that a recovery or the next commit retries.
// at_least_once output is not gated (duplicates are within its contract).
// format: record takes the record from the tuple as is: field `key` (when present and not empty)
// is the key, field `value` the value bytes, and every other field a header of the same name
// (its text). The engine's dead-letter sinks use it (runtime/engine.cpp). With issue 14: a bool
// field `key_null` decides the key's null-ness (true: no key, false: the key even when empty),
// a Bytes field `headers` is decoded (<sleet/kafka_headers.hpp>) into the record's headers, so a
// KafkaSpout tuple goes out as the record it came from; a true bool field `value_null` makes the
// value null, and a null header value stays null (neither becomes "").
// headers_field (any format): that Bytes field's headers go on every record. key.field: when the
// tuple also has a bool field "<key.field>_null" that is true, the record gets no key (a null key
// stays null, not ""). In exactly_once mode the sink's own sleet.task/epoch/seq headers replace
// forwarded ones of those names.
//
// Threading: all methods run on the task's fiber (or, for on_recover, the thread starting the
// engine). Waiting for deliveries polls the producer and suspends only the fiber.
#pragma once

// Epoch and Record serialize here (the sink's state, and tests that write older state versions):
// the cereal type support their fields need comes with them.
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/vector.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sleet/component.hpp>
#include <sleet/ids.hpp>

#include "core/format.hpp"
#include "core/sink_metrics.hpp"
#include "core/state_machine.hpp"
#include "kafka/kafka.hpp"

namespace sleet::kafka {

// Where a KafkaSink task is in publishing its oldest committed epoch (exactly_once only). The
// epochs themselves are write-ahead state: buffered since the last barrier, closed at the barrier
// and kept in the snapshot until published. After the checkpoint covering epoch e commits (or at
// recovery), e goes through these steps, oldest epoch first, one epoch at a time:
enum class PublishState {
  idle,            // no epoch in flight (the oldest pending one, if any, awaits its commit)
  checking,        // reading the stored cursor: is e out already? a newer generation's cursor?
  storing_cursor,  // reading the topic's end offsets, storing the cursor {e, offsets, published=0}
  scanning,        // the cursor names e unpublished: finding e's records already in the topic
  producing,       // producing e's (missing) records, waiting for every delivery
  marking,         // storing the cursor with published=1; then e is dropped
  failed,          // a step failed: e stays pending (and in the snapshot); a retry re-checks
  fenced,          // a newer generation owns the cursor: nothing more is published (terminal)
};
const char* publish_state_name(PublishState s);

// The allowed transitions, the one table (bolts/README.md prints it; tests check every pair).
inline constexpr Transition<PublishState> kPublishTransitions[] = {
    {PublishState::idle, PublishState::checking, "checkpoint >= e committed, or recovery"},
    {PublishState::failed, PublishState::checking, "retry: the next commit or a recovery"},
    {PublishState::checking, PublishState::idle, "cursor past e, or e marked published: drop e"},
    {PublishState::checking, PublishState::storing_cursor, "no cursor, or an older epoch's"},
    {PublishState::checking, PublishState::scanning, "cursor names e, unpublished"},
    {PublishState::storing_cursor, PublishState::producing, "cursor stored"},
    {PublishState::scanning, PublishState::producing, "records already in the topic known"},
    {PublishState::producing, PublishState::marking, "every record delivered"},
    {PublishState::marking, PublishState::idle, "marked published: drop e"},
    {PublishState::checking, PublishState::failed, "step failed"},
    {PublishState::storing_cursor, PublishState::failed, "step failed"},
    {PublishState::scanning, PublishState::failed, "step failed"},
    {PublishState::producing, PublishState::failed, "step failed"},
    {PublishState::marking, PublishState::failed, "step failed"},
    {PublishState::checking, PublishState::fenced, "newer generation's cursor"},
    {PublishState::storing_cursor, PublishState::fenced, "newer generation's cursor"},
    {PublishState::scanning, PublishState::fenced, "fenced"},
    {PublishState::producing, PublishState::fenced, "fenced"},
    {PublishState::marking, PublishState::fenced, "newer generation's cursor"},
};

// What KafkaSink keeps in its CursorStore cell "<component>-<task>". Encoded as one readable line,
// e.g. "v2 epoch=7 published=0 generation=3 offsets=0:120,1:98,2:131" ("v1" and no generation
// when it is 0, as written before generations). The fields are the encoding's plain numbers
// (tests and operators write cursors by hand); epoch_id() and writer() give them their types.
struct PublishCursor {
  int64_t epoch = 0;
  bool published = false;
  // The generation (Context::generation) of the sink that stored it. A sink finding a newer one
  // was fenced: its successor owns the cell, and publishing too would duplicate records.
  int32_t generation = 0;
  std::map<int32_t, int64_t> offsets;  // end offset of every target partition before publishing
  CheckpointId epoch_id() const { return CheckpointId{epoch}; }
  Generation writer() const { return Generation{generation}; }
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
  // 2: records carry headers (format: record); 3: null values and null header values. Versions 1
  // and 2 are still read.
  uint32_t state_version() const override { return 3; }
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
  // Where the publish protocol is (idle before open and in at_least_once mode).
  PublishState publish_state() const { return publish_ ? publish_->state() : PublishState::idle; }

  struct Record {
    bool has_key = false;
    std::string key;
    std::string value;
    // format: record's other fields, and the headers of headers_field; nullopt: a null header
    // value (KafkaSpout's encoding keeps it null, and so does the produced record).
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
    // format: record with a true bool field `value_null` (KafkaSpout's): the record's value is
    // null, not "" (`value` is then empty).
    bool value_null = false;
    template <class A>
    void serialize(A& ar) {
      ar(has_key, key, value, headers, value_null);  // state version 3
    }
  };
  struct Epoch {
    CheckpointId id;  // serialized as its int64 (StrongId::serialize), as in state versions 1, 2
    std::vector<Record> records;
    template <class A>
    void serialize(A& ar) {
      ar(id, records);
    }
  };

 private:
  Status init(Context& ctx);
  Status publish_up_to(CheckpointId n);
  Status publish_epoch(const Epoch& e);
  // The publish machine's one way out of an in-flight step that failed with `s`: to fenced (a
  // fenced code) or failed, then returns `s` (or the machine's own error).
  Status step_failed(Status s, const std::string& why);
  // Marks in `done` the sequence numbers of epoch e already in the topic (written by an earlier
  // attempt), scanning every partition from the cursor's offsets to its current end.
  Status scan_published(const PublishCursor& c, const Epoch& e, std::vector<bool>& done);
  Status produce(const Record& r, const Epoch* e, size_t seq);
  Status store_cursor(PublishCursor c);
  // Reads the stored cursor into cursor_; fenced if a newer generation stored it.
  Status load_cursor();
  // The lease's answer for a side effect of this sink: Ok, or its refusal (unavailable).
  Status allowed(const std::string& what) const;
  Record make_record(const Tuple& t);
  // Appends the headers of a Bytes field in the <sleet/kafka_headers.hpp> encoding to r.headers
  // (headers_field, or format record's `headers`); throws invalid_argument naming the field.
  void add_headers(const Value& v, const std::string& field, const Tuple& t, Record& r) const;

  // configuration
  std::string topic_;
  std::string bootstrap_;
  bool exactly_once_ = true;
  RecordFormat format_ = RecordFormat::tsv;
  bool record_format_ = false;  // format: record
  std::string key_field_;
  // `headers_field`: a Bytes field whose headers (KafkaHeaders encoding) each record gets; "" none.
  std::string headers_field_;
  std::chrono::milliseconds timeout_{60'000};
  std::map<std::string, std::string> extra_conf_;

  // set by init()
  std::string name_;  // "<component>-<task>": cursor key and sleet.task header
  CursorStore* cursors_ = nullptr;
  Generation generation_;
  // Context::side_effects (the worker's lease): asked before every cursor store and before
  // producing an epoch's records (again every kGateEvery records). Null: always allowed.
  const SideEffectGate* gate_ = nullptr;
  Counter* published_counter_ = nullptr;
  SinkEpochMetrics epochs_;  // exactly_once: pending_.size() and the epochs marked published
  DeliveryTracker tracker_;  // declared before producer_: the producer's callbacks point at it
  Handle producer_;
  Topic rkt_;

  // key field lookup cache
  const Fields* key_fields_ = nullptr;
  int key_index_ = -1;
  int key_null_index_ = -1;  // the bool field "<key.field>_null" (KafkaSpout's key_null), or -1
  int headers_index_ = -1;   // headers_field_, or -1

  // exactly_once state
  std::vector<Record> current_;          // records since the last barrier
  std::vector<Epoch> pending_;           // closed epochs, oldest first, not yet published
  std::optional<PublishCursor> cursor_;  // mirror of the stored cursor (nullopt: none yet)
  int64_t produced_since_poll_ = 0;
  // The publish protocol (exactly_once; made by init(), named after the task). Owned by the
  // task's fiber like every other member.
  std::optional<StateMachine<PublishState>> publish_;
  Status fenced_;  // why publish_ went to fenced: every later publish call returns it again
};

}  // namespace sleet::kafka
