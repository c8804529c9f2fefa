// The component API users implement: spouts produce tuples, bolts consume (and maybe emit) them.
//
// Threading contract: the start-up calls (restore_state, Spout::seek, on_recover, open) run one
// task after another on the engine's starting thread before any fiber runs, so they may block
// briefly (connect, read files); every later call runs on the task's own fiber, never concurrently.
// A component must not block the OS thread for long (no sleep(), no blocking socket reads): use
// sleet::this_task helpers or return 0 from Spout::next_batch to yield. It must not start threads
// that touch the Collector.
#pragma once

#include <atomic>
#include <cereal/archives/portable_binary.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <sleet/args.hpp>
#include <sleet/ids.hpp>
#include <sleet/keyed_state.hpp>
#include <sleet/status.hpp>
#include <sleet/tuple.hpp>

namespace sleet {

using StateWriter = cereal::PortableBinaryOutputArchive;
using StateReader = cereal::PortableBinaryInputArchive;

// Where a source stands: the offset of the next record to read, per topic partition.
// `cluster` names the system the offsets belong to (KafkaSpout: the Kafka cluster id), so a
// restore can refuse offsets of another cluster; "" when unknown (another spout kind, or a
// checkpoint written before it was recorded).
struct SourcePosition {
  std::string topic;
  PartitionId partition;
  Offset next;
  std::string cluster;
  bool operator==(const SourcePosition&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(topic, partition, next, cluster);
  }
};
using SourcePositions = std::vector<SourcePosition>;

// Emits tuples downstream. Only valid on the calling task's fiber, during the call it was passed
// to.
//
// The values are moved once, into the tuple built at the target: emit a temporary or a moved
// Values (`out.emit({w, c})`, `out.emit(std::move(v))`), or build them in place with
// `out.emit_values(w, c)`, which copies each argument once and nothing else. Emitting an lvalue
// copies it first.
//
// Named streams: emit(stream, values) sends on one of the component's output_streams() (only the
// subscriptions of that stream get it); emit(values) is the default stream. Emitting on a stream
// the component does not declare is a bug in the component, not in the record: the runtime fails
// the topology ("a restart cannot fix it") whatever its error policy, naming the component, the
// stream and the declared ones.
class Collector {
 public:
  virtual ~Collector() = default;
  virtual void emit(Values&& values) = 0;
  void emit(const Values& values) { emit(Values(values)); }
  // Emits with event time `timestamp` (ms since the epoch; Tuple::timestamp()) instead of the
  // default, which is the timestamp of the input being executed (none in timers and barriers).
  // Spouts assign event time this way; a windowed bolt stamps its results with the window's end.
  // A collector that does not carry event time (a test double) may ignore it.
  virtual void emit_at(int64_t timestamp, Values&& values) {
    (void)timestamp;
    emit(std::move(values));
  }
  // The default implementation knows only the default stream (collectors in tests); the
  // runtime's routes every declared stream.
  virtual void emit(std::string_view stream, Values&& values) {
    if (stream != kDefaultStream)
      throw std::invalid_argument("this collector has no stream '" + std::string(stream) + "'");
    emit(std::move(values));
  }
  void emit(std::string_view stream, const Values& values) { emit(stream, Values(values)); }
  template <class... A>
  void emit_values(A&&... values) {
    Values v;
    (append(v, std::forward<A>(values)), ...);
    emit(std::move(v));
  }
  template <class... A>
  void emit_values_to(std::string_view stream, A&&... values) {
    Values v;
    (append(v, std::forward<A>(values)), ...);
    emit(stream, std::move(v));
  }

 private:
  template <class A>
  static void append(Values& v, A&& a) {
    if constexpr (std::is_same_v<std::decay_t<A>, std::string_view>)
      v.emplace_back(std::in_place_type<std::string>, a);  // a view becomes an owned string
    else
      v.emplace_back(std::forward<A>(a));
  }
};

// Durable key/value cells a sink can use to remember progress outside its snapshot (KafkaSink's
// publish cursor). Backed by ZooKeeper; calls suspend the calling fiber, not the thread.
class CursorStore {
 public:
  virtual ~CursorStore() = default;
  [[nodiscard]] virtual Result<std::string> load(const std::string& key) = 0;  // not_found if none
  [[nodiscard]] virtual Status store(const std::string& key, const std::string& value) = 0;
};

// Asked before every side effect ZooKeeper cannot fence (a sink's rename or publish, a snapshot
// blob write): a worker whose ZooKeeper session may have expired behind its back (a long pause, a
// partition) must not act, since its tasks may already run elsewhere. Implemented by the worker's
// lease (cluster/lease.hpp). allow() returns Ok, or the refusal (Code::unavailable, naming the
// lease and why) that the caller returns as its own error: a refused side effect is never
// silently skipped, the task fails and recovery finishes the step later. `what` names the side
// effect for the message ("FileSink out[2]: renaming epoch 7 visible"). Any thread or fiber,
// concurrently; cheap (no I/O).
class SideEffectGate {
 public:
  virtual ~SideEffectGate() = default;
  [[nodiscard]] virtual Status allow(std::string_view what) const = 0;
};

// A null gate allows everything (a single process, or checkpointing off).
[[nodiscard]] inline Status allow_side_effect(const SideEffectGate* gate, std::string_view what) {
  return gate ? gate->allow(what) : Status::Ok();
}

class Counter;

// What a task knows about itself. Owned by the runtime; valid for the task's lifetime.
struct Context {
  std::string topology;
  std::string component;
  TaskIndex task{0};
  int parallelism = 1;
  std::map<std::string, std::string> config;  // topology config after substitution
  bool checkpointing = true;                  // false: no barriers will come
  CursorStore* cursors = nullptr;             // null when checkpointing is off
  // The generation this run claimed in ZooKeeper (CheckpointStore::bump_generation): it tells a
  // sink's pre-committed output apart from a fenced predecessor's. 0 when checkpointing is off.
  Generation generation{0};
  // The generation that committed the checkpoint being recovered from (Manifest::generation),
  // the only one whose pre-committed epochs <= that checkpoint are committed history. 0: no
  // checkpoint, or one written before manifests recorded it (unknown).
  Generation restored_generation{0};
  // Asked before every side effect that makes output visible (see SideEffectGate); null: all
  // allowed. Outlives the task.
  const SideEffectGate* side_effects = nullptr;
  // Named counter, visible in status output; stable pointer for the task's lifetime.
  std::function<Counter*(const std::string&)> counter;
  // Processing-time ticks (Storm's tick tuples as an API): from now on, Component::on_timer runs
  // every `interval` (> 0) on the task's fiber, never concurrently with execute() or next_batch().
  // Call it from open() (or later, from the task's fiber); a second call replaces the interval.
  // Ticks missed while the task was busy are coalesced into one. Replay semantics: see
  // docs/time-and-windows.md (ticks are not replayed at the same points of the input).
  [[nodiscard]] Status schedule_every(std::chrono::milliseconds interval) const {
    if (!timers)
      return Status::Invalid(
          "schedule_every: this context has no runtime behind it (a test context?): set "
          "Context::timers, or run the component in an engine");
    return timers(interval);
  }
  // Set by the runtime; what schedule_every calls.
  std::function<Status(std::chrono::milliseconds)> timers;
  std::string config_or(const std::string& key, const std::string& def) const {
    auto it = config.find(key);
    return it == config.end() ? def : it->second;
  }
};

class Counter {
 public:
  void add(int64_t n) { v_.fetch_add(n, std::memory_order_relaxed); }
  int64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// One output stream a component declares: its name and the fields of its tuples.
struct StreamDecl {
  std::string name;
  Fields fields;
};

class Component {
 public:
  virtual ~Component() = default;
  // Names of the fields this component emits on the default stream; empty for sinks. Must not
  // depend on open().
  virtual Fields output_fields() const { return {}; }
  // Every output stream with its fields (names unique). A one-stream component overrides only
  // output_fields(); one with named streams overrides this, and lists "default" (kDefaultStream)
  // only if it calls emit(values). Must not depend on open().
  virtual std::vector<StreamDecl> output_streams() const {
    return {{std::string(kDefaultStream), output_fields()}};
  }
  // Called once at start-up, on the engine's starting thread before the task's fiber runs (after
  // restore_state, seek and on_recover when recovering).
  virtual Status open(Context& ctx) {
    (void)ctx;
    return Status::Ok();
  }
  virtual void close() {}

  // --- checkpointing hooks: on the task's fiber, except restore_state (start-up, see above) ---
  virtual bool stateful() const { return false; }
  // Bump when the serialized layout changes; restore_state gets the version that was written.
  virtual uint32_t state_version() const { return 1; }
  virtual void snapshot_state(StateWriter& w) const { (void)w; }
  virtual Status restore_state(StateReader& r, uint32_t version) {
    (void)r;
    (void)version;
    return Status::Ok();
  }
  // KeyedState members the runtime checkpoints itself, asynchronously and incrementally (see
  // sleet/keyed_state.hpp and docs/state.md), restored before restore_state is called. Leave them
  // out of snapshot_state. Must return the same names and objects on every call; called on the
  // starting thread and on the task's fiber. Only for stateful() components.
  virtual std::vector<KeyedStateRef> keyed_states() { return {}; }
  // Barrier n reached this task, after all tuples of epoch n. Sinks pre-commit epoch n here (make
  // it durable but invisible); bolts may emit. Runs before snapshot_state for n.
  virtual Status on_barrier(CheckpointId n, Collector& out) {
    (void)n;
    (void)out;
    return Status::Ok();
  }
  // A processing-time tick (Context::schedule_every), on the task's fiber between two calls of
  // execute() (or next_batch()). What it emits belongs to the epoch in progress, like any emit,
  // so it is checkpointed and made visible exactly once; an error fails the topology.
  virtual Status on_timer(Collector& out) {
    (void)out;
    return Status::Ok();
  }
  // Checkpoint n is committed: make epoch n (and any earlier pending epochs) visible.
  virtual Status on_checkpoint_committed(CheckpointId n) {
    (void)n;
    return Status::Ok();
  }
  // Recovering from committed checkpoint n (after restore_state, before open): finish epochs <= n
  // that were committed but not made visible, discard anything pre-committed after n.
  // `n` is CheckpointId{0} when there is no checkpoint yet.
  virtual Status on_recover(CheckpointId n, Context& ctx) {
    (void)n;
    (void)ctx;
    return Status::Ok();
  }
};

class Spout : public Component {
 public:
  // Emit what is available now (a batch, not everything). Returns how many tuples were emitted;
  // 0 means idle, and the runtime parks the fiber briefly before asking again.
  virtual Result<size_t> next_batch(Collector& out) = 0;
  // Positions as of the tuples emitted so far; recorded at each barrier.
  virtual SourcePositions positions() const { return {}; }
  // Start from these positions (recovery). Called before open(). They are the positions every
  // task of this component recorded in the checkpoint (only this component's, never another's),
  // so a task takes those of the partitions it owns now, whatever task recorded them.
  virtual Status seek(const SourcePositions& p) {
    (void)p;
    return Status::Ok();
  }
  // True once a bounded input is read to its end (the end as of now); for --until-drained.
  virtual bool drained() const { return false; }
  // Event time: the watermark of this task's output as of the tuples emitted so far (no later
  // tuple will carry a smaller timestamp, except late ones), asked after every next_batch. The
  // runtime sends it in-band whenever it rises, and kIdleWatermark while the spout has nothing
  // active (so it does not hold downstream back). kNoTimestamp: no event time (never sent).
  virtual int64_t watermark() const { return kNoTimestamp; }
};

// Thrown from execute() for a failure that is not the input's fault (disk full, broker gone):
// it fails the topology whatever the component's error policy.
class FatalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Bolt : public Component {
 public:
  // Exceptions thrown here follow the component's error policy (fail / skip / dead_letter),
  // except FatalError, which always fails the topology.
  virtual void execute(const Tuple& input, Collector& out) = 0;
  // The task's watermark rose to `watermark` (the minimum over its active input channels, in
  // ms since the epoch): no tuple of a later call carries a smaller timestamp, except late ones.
  // On the task's fiber, in order with execute(). Whatever it emits goes out before the runtime
  // forwards the watermark downstream (the default forwards only), so results stamped up to the
  // watermark are not late for the next bolt.
  virtual Status on_watermark(int64_t watermark, Collector& out) {
    (void)watermark;
    (void)out;
    return Status::Ok();
  }
};

}  // namespace sleet
