#include "runtime/engine.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/fiber/all.hpp>
#include <sstream>

#include "core/format.hpp"
#include "core/kill_point.hpp"
#include "core/sink_metrics.hpp"
#include "core/state_chain.hpp"
#include "runtime/barrier_aligner.hpp"
#include "runtime/channel.hpp"
#include "runtime/inbox.hpp"
#include "runtime/task_metrics.hpp"
#include "runtime/watermark_aligner.hpp"

namespace sleet {

// Checkpoint ids are read by every task's loop turn: a lock in there would cost every batch.
static_assert(std::atomic<CheckpointId>::is_always_lock_free);

namespace {

// One outgoing stream of a task: the grouping decides which target task(s) get a tuple; tuples
// wait in a per-target pending batch until it is full or the task flushes.
struct OutEdge {
  GroupingType type = GroupingType::shuffle;
  // The output stream this edge subscribes to (index into Task::streams) and what its tuples are
  // bound to: that stream's fields and the task's source record for it.
  size_t stream = 0;
  const Fields* fields = nullptr;
  const TupleSource* source = nullptr;
  // Set when the target is chained to this task (EngineOptions::chaining): every tuple is
  // executed by that one task right here, on this fiber, with no batch and no channel; targets
  // is then empty.
  Task* chain = nullptr;
  std::vector<ChannelSender*> targets;  // one per target task (PlannedEdge::channels)
  std::vector<int> key_idx;             // fields grouping: indices of the key fields
  std::vector<size_t> preferred;        // local_or_shuffle: targets on our thread (else all)
  std::vector<std::vector<Tuple>> pending;
  size_t rr = 0;
};

// One declared output stream of a task (Component::output_streams). Its edges are
// out[first, last): wire() orders a task's edges by stream.
struct OutStream {
  Fields fields;
  TupleSource source;  // what every tuple emitted on it points at
  size_t first = 0, last = 0;
};

}  // namespace

// A running instance of a component. Everything here is touched only by the task's own fiber
// (for a chained task: the fiber of its chain's head), except the counters map (guarded by
// counters_mu) and last_commit_done (atomic).
// Metrics: the task's fiber is the single writer of every count and time (Counter's relaxed
// atomics through pointers it keeps, TaskMetrics); Engine::stats() reads them from the worker's
// controlling thread. counters_mu guards only the map's shape: taken when a counter is
// registered (set-up, or a component calling ctx.counter(name)) and by stats(), never per tuple,
// batch or report.
class Task : public Collector {
 public:
  Engine* engine = nullptr;
  const ComponentSpec* spec = nullptr;
  TaskIndex index{0};
  int thread = 0;
  // Placed on this worker (EngineOptions::placement). A task placed elsewhere is instantiated
  // only for its output fields (what a remote channel binds its tuples to): never opened or run.
  bool local = true;
  std::unique_ptr<Component> comp;
  Spout* spout = nullptr;
  Bolt* bolt = nullptr;
  // Declared output streams, in declaration order (never resized after wire(): tuples and remote
  // receivers point into them). default_out: the one named kDefaultStream, if declared.
  std::vector<OutStream> streams;
  OutStream* default_out = nullptr;
  Context ctx;
  std::unique_ptr<Inbox> inbox;  // bolts that are not chained
  // Chained (Flink's operator chaining): this bolt runs inside the fiber of `chained_from`, which
  // calls deliver() for each tuple and steps it through barriers, commits and end of stream.
  Task* chained_from = nullptr;
  std::vector<Task*> chained;  // tasks chained to this one
  bool halted = false;         // chained and failed: drops further input, the topology is failing
  std::vector<OutEdge> out;
  // ErrorPolicy::dead_letter: this task's dead-letter sink (EngineOptions::dead_letter_sink), a
  // task chained to this one, so it takes barriers, snapshots and commits with it and its epoch n
  // is part of checkpoint n like any sink's. The sink task owns its spec (not in the topology).
  Task* dead_letter = nullptr;
  std::unique_ptr<ComponentSpec> own_spec;
  bool is_dead_letter = false;
  std::string source_topic;  // DeadLetterSink::source_topic

  std::mutex counters_mu;
  std::map<std::string, std::unique_ptr<Counter>> counters;
  Counter* in_count = nullptr;
  Counter* out_count = nullptr;
  Counter* skipped = nullptr;
  Counter* failed_count = nullptr;  // tuples whose execute threw
  Counter* dead_letters = nullptr;  // tuples sent to the dead-letter sink
  std::atomic<CheckpointId> last_commit_done{CheckpointId{0}};
  std::atomic<bool> drained{false};  // spouts: mirrors Spout::drained() after each batch
  // This fiber runs timers (this task's or a chained one's): set by schedule().
  bool has_timers = false;
  // Stateful local tasks: the managed KeyedStates (Component::keyed_states()) and their chains.
  std::shared_ptr<ManagedStates> managed;

  CheckpointId last_barrier{0};
  CheckpointId last_commit_seen{0};
  // Emits (and, chained, deliveries) not yet added to the counters: one atomic add per flush.
  int64_t unreported_out = 0;
  int64_t unreported_in = 0;
  // EngineOptions::batch_size, kept here: append() reads it for every tuple.
  size_t batch_size = 512;
  TaskMetrics metrics;  // runtime/task_metrics.hpp
  // A sink's published-epochs counter (core/sink_metrics.hpp), null for other tasks.
  Counter* sink_published = nullptr;
  bool sink_looked_up = false;

  // --- time (docs/time-and-windows.md) ---
  // The event time given to emitted tuples: the input being executed, or emit_at()'s.
  int64_t stamp = kNoTimestamp;
  // The watermark this task last forwarded (kNoTimestamp: none) and whether it is idle now.
  int64_t out_wm = kNoTimestamp;
  bool out_idle = false;
  // Context::schedule_every: 0 = no timer. Due times are steady-clock (processing time).
  std::chrono::milliseconds timer_interval{0};
  std::chrono::steady_clock::time_point timer_due{};

  Counter* counter(const std::string& name) {
    std::lock_guard lk(counters_mu);
    auto& c = counters[name];
    if (!c) c = std::make_unique<Counter>();
    return c.get();
  }

  std::string name() const { return spec->id + "[" + std::to_string(index.value) + "]"; }

  // --- Collector ---
  using Collector::emit;
  void emit(Values&& values) override {
    if (default_out) [[likely]]
      return emit_on(*default_out, std::move(values));
    undeclared_stream(kDefaultStream);
  }
  void emit(std::string_view stream, Values&& values) override {
    for (OutStream& s : streams)
      if (s.source.stream == stream) return emit_on(s, std::move(values));
    undeclared_stream(stream);
  }
  void emit_on(OutStream& s, Values&& values) {
    ++unreported_out;
    if (s.first == s.last) return;
    // The values are moved once, into the tuple built in place in the target's pending batch.
    for (size_t e = s.first; e + 1 < s.last; ++e) route(out[e], Values(values));
    route(out[s.last - 1], std::move(values));
  }

  // Emitting on a stream the component does not declare is a bug in the component (no record
  // causes it, a restart repeats it): the topology fails with invalid_argument ("a restart cannot
  // fix it") whatever the error policy, and the FatalError unwinds the component's call.
  [[noreturn]] void undeclared_stream(std::string_view stream) {
    std::string declared;
    for (const OutStream& s : streams) declared += (declared.empty() ? "" : ", ") + s.source.stream;
    Status st = Status::Invalid("component '" + spec->id + "' task " + std::to_string(index.value) +
                                " emitted on stream '" + std::string(stream) +
                                "', which it does not declare (declared: [" + declared +
                                "]): declare the stream in output_streams() of class '" +
                                spec->class_name + "', or emit on a declared one");
    engine->fail(st);
    throw FatalError(st.message());
  }

  // The task's output streams from its component, checked (unique, non-empty names).
  Status init_streams() {
    for (StreamDecl& d : comp->output_streams()) {
      if (d.name.empty())
        return Status::Invalid("class '" + spec->class_name +
                               "' declares an output stream without a name");
      for (const OutStream& s : streams)
        if (s.source.stream == d.name)
          return Status::Invalid("class '" + spec->class_name + "' declares output stream '" +
                                 d.name + "' twice");
      OutStream s;
      s.fields = std::move(d.fields);
      s.source = TupleSource{spec->id, index, std::move(d.name)};
      streams.push_back(std::move(s));
    }
    for (OutStream& s : streams)
      if (s.source.stream == kDefaultStream) default_out = &s;
    return Status::Ok();
  }
  OutStream* find_stream(std::string_view name) {
    for (OutStream& s : streams)
      if (s.source.stream == name) return &s;
    return nullptr;
  }

  void route(OutEdge& e, Values&& t) {
    if (e.chain) return e.chain->deliver(e.fields, e.source, std::move(t), stamp);
    const size_t n = e.targets.size();
    switch (e.type) {
      case GroupingType::shuffle:
      case GroupingType::direct:
        append(e, next_round_robin(e, n), std::move(t));
        break;
      case GroupingType::local_or_shuffle:
        if (!e.preferred.empty())
          append(e, e.preferred[next_round_robin(e, e.preferred.size())], std::move(t));
        else
          append(e, next_round_robin(e, n), std::move(t));
        break;
      case GroupingType::fields: {
        uint64_t h = 0;
        for (int k : e.key_idx) h = h * 31 + stable_hash(t[static_cast<size_t>(k)]);
        // h % n, without a 64-bit division for the usual power-of-two parallelism. The mapping
        // must never change: restored per-key state sits on the task this picks.
        append(e, (n & (n - 1)) == 0 ? h & (n - 1) : h % n, std::move(t));
        break;
      }
      case GroupingType::global:
        append(e, 0, std::move(t));
        break;
      case GroupingType::all:
        for (size_t i = 0; i + 1 < n; ++i) append(e, i, Values(t));
        append(e, n - 1, std::move(t));
        break;
    }
  }

  // rr++ % m without the division (m is fixed per edge, so rr stays below it).
  static size_t next_round_robin(OutEdge& e, size_t m) {
    size_t r = e.rr;
    if (++e.rr >= m) e.rr = 0;
    return r;
  }

  void emit_at(int64_t timestamp, Values&& values) override {
    const int64_t saved = stamp;
    stamp = timestamp;
    emit(std::move(values));
    stamp = saved;
  }

  void append(OutEdge& e, size_t target, Values&& v) {
    auto& p = e.pending[target];
    p.emplace_back(e.fields, std::move(v), e.source).set_timestamp(stamp);
    if (p.size() >= batch_size) [[unlikely]]
      send(e, target);
  }

  // Once per batch, out of line: inlined into append() it costs every tuple a longer prologue.
  [[gnu::noinline]] void send(OutEdge& e, size_t target) {
    Message m;
    m.kind = Message::Kind::data;
    m.tuples.swap(e.pending[target]);
    const int64_t t0 = metrics.start();
    (void)e.targets[target]->send(std::move(m), &e.pending[target]);
    TaskMetrics::add(metrics.backpressure_ns, t0);
    if (e.pending[target].capacity() == 0) e.pending[target].reserve(batch_size);
  }

  // Hands pending batches to their channels; chained tasks flush theirs too.
  void flush() {
    if (unreported_in) {
      in_count->add(unreported_in);
      unreported_in = 0;
    }
    if (unreported_out) {
      out_count->add(unreported_out);
      unreported_out = 0;
    }
    for (auto& e : out) {
      if (e.chain) e.chain->flush();
      for (size_t i = 0; i < e.targets.size(); ++i)
        if (!e.pending[i].empty()) send(e, i);
    }
  }

  // One tuple into the bolt, under its error policy. False: the topology failed (reported), stop
  // feeding this task.
  bool execute_one(const Tuple& t) {
    struct Restamp {  // emits inherit the input's event time, also when execute() throws
      int64_t& s;
      ~Restamp() { s = kNoTimestamp; }
    } restamp{stamp};
    stamp = t.timestamp();
    try {
      if (metrics.sample()) [[unlikely]] {
        const int64_t t0 = TaskMetrics::now_ns();
        bolt->execute(t, *this);
        metrics.execute.observe_ns(TaskMetrics::now_ns() - t0);
      } else {
        bolt->execute(t, *this);
      }
    } catch (const FatalError& e) {
      engine->fail(Status::Internal(name() + ": " + e.what()));
      return false;
    } catch (const std::exception& e) {
      failed_count->add(1);
      if (spec->on_error == ErrorPolicy::fail) {
        engine->fail(poison_record(t, e.what()));
        return false;
      }
      try {
        handle_error(t, e.what());
      } catch (const std::exception& fatal) {
        engine->fail(Status::Internal(fatal.what()));
        return false;
      }
    }
    return true;
  }

  // on_error: fail. A restart would replay the same record and fail again, so the status says "a
  // restart cannot fix it" (invalid_argument: the worker exits 3) and names what the user needs
  // to find the record: component, task, the input position when the tuple carries a KafkaSpout's
  // partition/offset fields, and the values.
  Status poison_record(const Tuple& t, const std::string& what) const {
    std::string where;
    if (const Fields* f = t.fields()) {
      int p = f->index_of("partition"), o = f->index_of("offset");
      if (p >= 0 && o >= 0 && static_cast<size_t>(std::max(p, o)) < t.size()) {
        auto* pv = std::get_if<int64_t>(&t.at(static_cast<size_t>(p)));
        auto* ov = std::get_if<int64_t>(&t.at(static_cast<size_t>(o)));
        if (pv && ov)
          where = " at partition " + std::to_string(*pv) + " offset " + std::to_string(*ov);
      }
    }
    return Status::Invalid("poison record: bolt '" + spec->id + "' task " +
                           std::to_string(index.value) + " failed on the record" + where + " [" +
                           t.debug_string() + "]: " + what +
                           ". on_error: fail stops the topology (a restart would replay the "
                           "record and fail again): fix the bolt or the record, or set on_error: "
                           "skip or dead_letter on '" +
                           spec->id + "'");
  }

  // Chained: a tuple emitted by chained_from, executed at once on its fiber.
  void deliver(const Fields* fields, const TupleSource* source, Values&& v,
               int64_t timestamp = kNoTimestamp) {
    if (halted) return;
    ++unreported_in;
    Tuple t(fields, std::move(v), source);
    t.set_timestamp(timestamp);
    if (!execute_one(t)) halted = true;
  }

  // Control messages go to every target task of every edge, after all data before them.
  void broadcast(Message::Kind kind, CheckpointId id = CheckpointId{0}, int64_t watermark = 0) {
    flush();
    for (auto& e : out)
      for (ChannelSender* t : e.targets) {
        Message m;
        m.kind = kind;
        m.barrier = id;
        m.watermark = watermark;
        (void)t->send(std::move(m), nullptr);
      }
  }

  // --- checkpoint steps, on this task's fiber ---
  Status take_snapshot(CheckpointId id) {
    TaskSnapshotData d;
    d.component = spec->id;
    d.task = TaskIndex{index};
    d.id = id;
    d.stateful = comp->stateful();
    const auto t0 = std::chrono::steady_clock::now();
    if (spout) {
      d.source = true;
      d.positions = spout->positions();
      if (auto* et = dynamic_cast<const EventTimeCheckpointed*>(spout))
        d.event_times = et->event_times();
      d.drained = spout->drained();
    }
    if (d.stateful) {
      d.state_version = comp->state_version();
      std::ostringstream os(std::ios::binary);
      {
        StateWriter w(os);
        comp->snapshot_state(w);
      }
      SnapshotJob job;
      job.task_key = snapshot_task_key(d.component, d.task);
      job.state_bytes = std::move(os).str();
      job.frozen_at = t0;
      if (managed && !managed->empty()) {
        // A committed checkpoint this task has not seen yet shortens the next delta.
        managed->on_committed(engine->committed_checkpoint());
        managed->freeze_into(job, id);
        job.owner = managed;
      }
      job.ack = std::move(d);
      if (AsyncSnapshotWriter* a = engine->async_snapshots()) {
        a->submit(std::move(job));  // the writer thread writes the blobs and acks
      } else {
        write_snapshot_now(job);
      }
      engine->record_pause(std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::steady_clock::now() - t0)
                               .count());
      return Status::Ok();
    }
    engine->options().listener->on_task_snapshot(std::move(d));
    return Status::Ok();
  }

  // EngineOptions::snapshot_threads 0: the job's blobs written on this fiber before the barrier
  // goes on (the writer suspends only the fiber).
  void write_snapshot_now(SnapshotJob& job) {
    TaskSnapshotData& d = job.ack;
    std::vector<StateLink> links;
    for (KeyedPart& p : job.parts) {
      std::string buf;
      p.view->serialize(buf);
      auto h = engine->options().snapshots->write(d.id, keyed_state_blob_key(job.task_key, p.state),
                                                  buf);
      if (!h.ok()) {
        d.error = h.status().with_context(name() + " writing keyed state '" + p.state + "'");
        engine->options().listener->on_task_snapshot(std::move(d));
        return;
      }
      StateLink link{p.state, d.id, p.view->base(), p.view->entries(), *h};
      for (auto& l : extend_chain(std::move(p.chain), link)) links.push_back(std::move(l));
    }
    job.parts.clear();
    write_snapshot(d, job.state_bytes);
    if (d.error.ok()) {
      if (job.owner) job.owner->written(d.id, links);
      d.links = std::move(links);
    }
    engine->options().listener->on_task_snapshot(std::move(d));
  }

  // Writes this task's state blob of checkpoint d.id and puts its handle (or the write error,
  // which makes the coordinator abort the checkpoint) into the ack. On this task's fiber: the
  // writer suspends only the fiber (fiber futures), so other tasks of this thread keep running.
  void write_snapshot(TaskSnapshotData& d, const std::string& bytes) {
    auto h =
        engine->options().snapshots->write(d.id, snapshot_task_key(d.component, d.task), bytes);
    if (!h.ok()) {
      d.error = h.status();
      return;
    }
    d.handle = std::move(h).value();
    kill_point("task.after_snapshot_write");  // the blob is durable, the ack not yet sent
  }

  // Barrier `id` is aligned at this task (all inputs delivered it, or this is a spout).
  Status complete_barrier(CheckpointId id) {
    SLEET_RETURN_IF_ERROR(comp->on_barrier(id, *this).with_context(name() + " at barrier " +
                                                                   std::to_string(id.value)));
    flush();
    SLEET_RETURN_IF_ERROR(take_snapshot(id));
    broadcast(Message::Kind::barrier, id);
    last_barrier = id;
    // A chained task's only input is this task: its barrier is aligned now.
    for (Task* c : chained) SLEET_RETURN_IF_ERROR(c->complete_barrier(id));
    return Status::Ok();
  }

  Status check_committed() {
    CheckpointId c = engine->committed_checkpoint();
    if (c <= last_commit_seen || c > last_barrier) return Status::Ok();
    const CheckpointId before = last_commit_seen;
    last_commit_seen = c;
    if (managed) managed->on_committed(c);
    if (!sink_looked_up) find_sink_counter();
    const int64_t published = sink_published ? sink_published->get() : 0;
    SLEET_RETURN_IF_ERROR(comp->on_checkpoint_committed(c).with_context(
        name() + " making checkpoint " + std::to_string(c.value) + " visible"));
    if (sink_published && metrics.enabled && sink_published->get() > published)
      observe_publish(before, c);
    last_commit_done.store(c, std::memory_order_release);
    for (Task* t : chained) SLEET_RETURN_IF_ERROR(t->check_committed());
    return Status::Ok();
  }

  // A sink reports its epochs through two counters (core/sink_metrics.hpp), registered in
  // on_recover or open, before this fiber runs: looked up once, at the first commit.
  void find_sink_counter() {
    sink_looked_up = true;
    std::lock_guard lk(counters_mu);
    auto it = counters.find(kSinkEpochsPublished);
    if (it != counters.end()) sink_published = it->second.get();
  }
  // Per published epoch, out of line.
  [[gnu::noinline]] void observe_publish(CheckpointId before, CheckpointId c) {
    if (int64_t t0 = engine->commit_notice_ns(before, c); t0 > 0)
      metrics.publish.observe_ns(std::max<int64_t>(0, TaskMetrics::now_ns() - t0));
  }

  void handle_error(const Tuple& t, const std::string& what) {
    switch (spec->on_error) {
      case ErrorPolicy::fail:
        throw std::runtime_error("bolt '" + spec->id + "' task " + std::to_string(index.value) +
                                 " failed on tuple [" + t.debug_string() + "]: " + what);
      case ErrorPolicy::skip:
        skipped->add(1);
        if (skipped->get() <= 10)
          spdlog::warn("{}: skipped tuple [{}]: {}", name(), t.debug_string(), what);
        return;
      case ErrorPolicy::dead_letter:
        skipped->add(1);
        dead_letters->add(1);
        send_dead_letter(t, what);
        return;
    }
  }

  // The dead letter of `t` (layout in docs/topology-file.md, on_error): a tuple shaped like
  // KafkaSpout's output is the original record (key, value bytes, partition and offset headers);
  // any other tuple is its fields as one JSON object.
  void send_dead_letter(const Tuple& t, const std::string& what) {
    static const Fields kRecordFields{"key",
                                      "value",
                                      "sleet.dlq.topic",
                                      "sleet.dlq.partition",
                                      "sleet.dlq.offset",
                                      "sleet.dlq.component",
                                      "sleet.dlq.task",
                                      "sleet.dlq.error"};
    static const Fields kTupleFields{"value", "sleet.dlq.component", "sleet.dlq.task",
                                     "sleet.dlq.error"};
    const Fields* f = t.fields();
    const int key = f ? f->index_of("key") : -1, value = f ? f->index_of("value") : -1;
    const int partition = f ? f->index_of("partition") : -1;
    const int offset = f ? f->index_of("offset") : -1, topic = f ? f->index_of("topic") : -1;
    auto is_text = [&](int i) {
      auto ty = type_of(t.at(static_cast<size_t>(i)));
      return ty == ValueType::string || ty == ValueType::bytes;
    };
    Values v;
    if (value >= 0 && partition >= 0 && offset >= 0 && is_text(value)) {
      v.reserve(kRecordFields.size());
      v.emplace_back(key >= 0 ? t.at(static_cast<size_t>(key)) : Value(std::string()));
      v.emplace_back(t.at(static_cast<size_t>(value)));
      v.emplace_back(topic >= 0 ? to_text(t.at(static_cast<size_t>(topic))) : source_topic);
      v.emplace_back(t.at(static_cast<size_t>(partition)));
      v.emplace_back(t.at(static_cast<size_t>(offset)));
      v.emplace_back(spec->id);
      v.emplace_back(int64_t{index.value});
      v.emplace_back(what);
      return dead_letter->deliver(&kRecordFields, nullptr, std::move(v));
    }
    std::string json;
    encode_record(RecordFormat::jsonl, t, json);
    v.reserve(kTupleFields.size());
    v.emplace_back(std::move(json));
    v.emplace_back(spec->id);
    v.emplace_back(int64_t{index.value});
    v.emplace_back(what);
    dead_letter->deliver(&kTupleFields, nullptr, std::move(v));
  }

  // --- processing-time timers: on this task's fiber (a chained task's: its head's) ---
  Status schedule(std::chrono::milliseconds interval) {
    if (interval.count() <= 0)
      return Status::Invalid(name() + ": schedule_every needs an interval > 0 ms, got " +
                             std::to_string(interval.count()) + " ms");
    timer_interval = interval;
    timer_due = std::chrono::steady_clock::now() + interval;
    Task* head = this;  // a chained task's timers run on its head's fiber
    while (head->chained_from) head = head->chained_from;
    head->has_timers = true;
    return Status::Ok();
  }

  // Runs on_timer of this task and of its chained tasks whose tick is due. Ticks missed while
  // the fiber was busy are coalesced (the next one is due an interval after now).
  Status fire_timers(std::chrono::steady_clock::time_point now) {
    if (timer_interval.count() > 0 && now >= timer_due && !halted) {
      timer_due += timer_interval;
      if (timer_due <= now) timer_due = now + timer_interval;
      SLEET_RETURN_IF_ERROR(comp->on_timer(*this).with_context(name() + " in on_timer"));
      flush();
    }
    for (Task* c : chained) SLEET_RETURN_IF_ERROR(c->fire_timers(now));
    return Status::Ok();
  }

  // The earliest tick due on this fiber (this task and its chain); nullopt: no timer.
  std::optional<std::chrono::steady_clock::time_point> next_timer() const {
    std::optional<std::chrono::steady_clock::time_point> t;
    if (timer_interval.count() > 0) t = timer_due;
    for (const Task* c : chained)
      if (auto ct = c->next_timer(); ct && (!t || *ct < *t)) t = ct;
    return t;
  }

  // --- event time: this task's input watermark became `w` (kIdleWatermark: idle) ---
  // Bolts hear of a rise (on_watermark) and emit before it goes on; then it is forwarded to
  // every channel and chained task, once per change.
  Status take_watermark(int64_t w) {
    if (w == kNoTimestamp || halted) return Status::Ok();
    if (w == kIdleWatermark) {
      if (out_idle) return Status::Ok();
      out_idle = true;
    } else {
      const bool rose = w > out_wm;
      if (!rose && !out_idle) return Status::Ok();
      out_idle = false;
      if (rose) {
        out_wm = w;
        if (bolt)
          SLEET_RETURN_IF_ERROR(bolt->on_watermark(w, *this).with_context(
              name() + " at watermark " + std::to_string(w)));
      }
      w = out_wm;
    }
    broadcast(Message::Kind::watermark, CheckpointId{0}, w);
    for (Task* c : chained) SLEET_RETURN_IF_ERROR(c->take_watermark(w));
    return Status::Ok();
  }

  void run_spout() {
    const bool cp = engine->options().checkpointing;
    const auto idle = engine->options().spout_idle_wait;
    while (!engine->stopping()) {
      if (cp) {
        CheckpointId req = engine->requested_checkpoint();
        if (req > last_barrier) {
          if (Status s = complete_barrier(req); !s.ok()) return engine->fail(s);
        }
        if (Status s = check_committed(); !s.ok()) return engine->fail(s);
      }
      auto r = spout->next_batch(*this);
      if (!r.ok()) return engine->fail(r.status().with_context("spout " + name()));
      flush();
      if (Status s = take_watermark(spout->watermark()); !s.ok()) return engine->fail(s);
      if (has_timers)
        if (Status s = fire_timers(std::chrono::steady_clock::now()); !s.ok())
          return engine->fail(s);
      drained.store(spout->drained(), std::memory_order_relaxed);
      if (*r == 0) {
        const int64_t t0 = metrics.start();
        boost::this_fiber::sleep_for(idle);
        TaskMetrics::add(metrics.idle_ns, t0);
      } else {
        boost::this_fiber::yield();
      }
    }
  }

  // Carries out one of the aligner's decisions (its table is in runtime/README.md).
  Status apply(const BarrierAligner::Decision& d, size_t input) {
    switch (d.action) {
      case BarrierAligner::Action::none:
        inbox->unblock(d.unblock);
        return Status::Ok();
      case BarrierAligner::Action::block:
        inbox->unblock(d.unblock);
        inbox->block(input);
        return Status::Ok();
      case BarrierAligner::Action::complete: {
        Status s = complete_barrier(d.checkpoint);
        inbox->unblock(d.unblock);
        return s;
      }
    }
    return Status::Ok();
  }

  void run_bolt() {
    BarrierAligner aligner(inbox->inputs(), last_barrier, name());
    WatermarkAligner watermarks(inbox->inputs());
    Message m;
    size_t input = 0;
    while (aligner.live() > 0) {
      if (Status s = check_committed(); !s.ok()) return engine->fail(s);
      Inbox::PopResult r;
      const int64_t t0 = metrics.start();
      if (!has_timers) {
        r = inbox->pop(input, m);
      } else {
        if (Status s = fire_timers(std::chrono::steady_clock::now()); !s.ok())
          return engine->fail(s);
        r = inbox->pop_until(input, m, *next_timer());
      }
      TaskMetrics::add(metrics.idle_ns, t0);
      if (r == Inbox::PopResult::closed) return;
      if (r != Inbox::PopResult::message) continue;
      switch (m.kind) {
        case Message::Kind::data:
          in_count->add(static_cast<int64_t>(m.tuples.size()));
          for (auto& t : m.tuples)
            if (!execute_one(t)) return;
          flush();
          // A chained task may have failed the topology: stop feeding it.
          if (!chained.empty() && engine->failed()) return;
          break;
        case Message::Kind::barrier:
          if (Status s = apply(aligner.on_barrier(input, m.barrier), input); !s.ok())
            return engine->fail(s);
          break;
        case Message::Kind::end:
          if (Status s = apply(aligner.on_end(input), input); !s.ok()) return engine->fail(s);
          if (auto d = watermarks.on_end(input); d.forward && aligner.live() > 0)
            if (Status s = take_watermark(d.watermark); !s.ok()) return engine->fail(s);
          break;
        case Message::Kind::watermark:
          if (auto d = watermarks.on_watermark(input, m.watermark); d.forward)
            if (Status s = take_watermark(d.watermark); !s.ok()) return engine->fail(s);
          break;
      }
    }
  }

  // Fiber body.
  // An exception escaping component code outside execute() (a spout's next_batch, on_barrier,
  // on_checkpoint_committed, close) would otherwise end the fiber with std::terminate: it fails
  // the topology, naming the task. execute() has its own per-tuple error policy in run_bolt.
  template <class F>
  void guarded(const char* what, F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      engine->fail(Status::Internal(name() + " " + what + ": " + e.what()));
    } catch (...) {
      engine->fail(Status::Internal(name() + " " + what + ": unknown exception"));
    }
  }

  void run() {
    guarded("failed", [&] {
      if (spout)
        run_spout();
      else
        run_bolt();
    });
    if (inbox && engine->failure().ok() == false) inbox->close();
    finish();
  }

  // End of stream downstream, then close; chained tasks (whose input just ended) likewise, before
  // this one closes. After Engine::abort no end of stream: downstream must not take an aborted
  // run's input as complete.
  void finish() {
    if (!engine->aborted())
      guarded("failed at end of stream", [&] { broadcast(Message::Kind::end); });
    for (Task* c : chained) c->finish();
    guarded("failed in close()", [&] { comp->close(); });
  }
};

namespace {

// A subscription to a stream its source does not declare (the validator reports it with file,
// line and "did you mean" first; a spec built in code meets it here).
Status undeclared_subscription(const StreamSpec& st, const Task& src) {
  std::string declared;
  for (const OutStream& s : src.streams)
    declared += (declared.empty() ? "" : ", ") + s.source.stream;
  return Status::Invalid("stream " + st.from + " -> " + st.to + " reads stream '" + st.stream +
                         "' of '" + st.from + "', which declares only [" + declared +
                         "]: subscribe to a declared stream (stream: NAME)");
}

// Routing per (task, output stream): emit_on(s) walks out[s.first, s.last), so a task's edges
// are grouped by stream (stable: the plan's order within a stream stays).
void order_edges_by_stream(Task& t) {
  std::stable_sort(t.out.begin(), t.out.end(),
                   [](const OutEdge& a, const OutEdge& b) { return a.stream < b.stream; });
  for (OutStream& s : t.streams) s.first = s.last = 0;
  for (size_t i = 0; i < t.out.size(); ++i) {
    OutStream& s = t.streams[t.out[i].stream];
    if (s.first == s.last) s.first = i;
    s.last = i + 1;
  }
}

}  // namespace

Engine::Engine(TopologySpec spec, EngineOptions options)
    : spec_(std::move(spec)), options_(options) {
  if (options_.threads <= 0)
    options_.threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  if (options_.batch_size == 0) options_.batch_size = 1;
  if (options_.channel_capacity == 0) options_.channel_capacity = 1;
}

Engine::~Engine() {
  if (started_ && !finished_) {
    request_stop();
    (void)wait();
  }
}

Result<std::unique_ptr<Engine>> Engine::create(const TopologySpec& spec, const Registry& registry,
                                               EngineOptions options) {
  if (options.checkpointing && !options.listener)
    return Status::Invalid("checkpointing needs a snapshot listener");
  if (options.checkpointing && !options.snapshots)
    return Status::Invalid(
        "checkpointing needs a snapshot writer: set EngineOptions::snapshots (where tasks write "
        "their state blobs), or turn checkpointing off");
  std::unique_ptr<Engine> e(new Engine(spec, options));
  SLEET_RETURN_IF_ERROR(e->wire(registry));
  if (options.checkpointing && options.snapshot_threads > 0)
    e->async_ = std::make_unique<AsyncSnapshotWriter>(*options.snapshots, *options.listener,
                                                      options.snapshot_threads);
  return e;
}

Status Engine::wire(const Registry& registry) {
  auto planned = plan_physical(
      spec_, PlanOptions{options_.chaining, options_.threads, options_.placement.worker_of});
  if (!planned.ok()) return planned.status();
  plan_ = std::move(planned).value();
  for (const PlannedTask& pt : plan_.tasks) {
    const ComponentSpec& cs = spec_.components[pt.component];
    auto t = std::make_unique<Task>();
    t->engine = this;
    t->spec = &cs;
    t->index = pt.index;
    t->thread = pt.thread;
    t->local = options_.placement.local(tasks_.size());
    t->batch_size = options_.batch_size;
    t->metrics.enabled = options_.metrics;
    auto c = registry.create(cs.class_name, cs.args);
    if (!c.ok()) return c.status().with_context("component '" + cs.id + "'");
    t->comp = std::move(c).value();
    t->spout = dynamic_cast<Spout*>(t->comp.get());
    t->bolt = dynamic_cast<Bolt*>(t->comp.get());
    if (!t->spout && !t->bolt)
      return Status::Invalid("class '" + cs.class_name + "' is neither a spout nor a bolt");
    SLEET_RETURN_IF_ERROR(t->init_streams().with_context("component '" + cs.id + "'"));
    Task* raw = t.get();
    t->ctx.topology = spec_.name;
    t->ctx.component = cs.id;
    t->ctx.task = pt.index;
    t->ctx.parallelism = cs.parallelism;
    t->ctx.config = spec_.config;
    t->ctx.checkpointing = options_.checkpointing;
    t->ctx.cursors = options_.cursors;
    t->ctx.side_effects = options_.side_effects;
    t->ctx.generation = options_.generation;
    t->ctx.restored_generation = options_.restored_generation;
    t->ctx.counter = [raw](const std::string& n) { return raw->counter(n); };
    t->ctx.timers = [raw](std::chrono::milliseconds iv) { return raw->schedule(iv); };
    t->in_count = raw->counter("in");
    t->out_count = raw->counter("out");
    t->skipped = raw->counter("skipped");
    t->failed_count = raw->counter("failed");
    if (cs.on_error == ErrorPolicy::dead_letter) t->dead_letters = raw->counter("dead_letters");
    if (t->local && t->comp->stateful()) {
      auto m = ManagedStates::bind(*t->comp, t->name());
      if (!m.ok()) return m.status();
      t->managed = std::move(m).value();
    }
    tasks_.push_back(std::move(t));
  }
  // Streams name known components (plan_physical checked): the target's first task tells its kind.
  for (auto& st : spec_.streams) {
    const auto to = static_cast<size_t>(spec_.find(st.to) - spec_.components.data());
    if (tasks_[plan_.task_of(to, TaskIndex{0})]->spout)
      return Status::Invalid("stream " + st.from + " -> " + st.to + ": a spout has no inputs");
  }
  for (size_t k = 0; k < tasks_.size(); ++k) {
    Task* t = tasks_[k].get();
    const PlannedTask& pt = plan_.tasks[k];
    if (!t->bolt || pt.chained_from) continue;
    if (pt.inputs == 0) return Status::Invalid("bolt '" + t->spec->id + "' has no input stream");
    if (t->local) t->inbox = std::make_unique<Inbox>(pt.inputs, options_.channel_capacity);
  }
  SLEET_RETURN_IF_ERROR(wire_channels());
  for (const PlannedEdge& pe : plan_.edges) {
    const StreamSpec& st = spec_.streams[pe.stream];
    Task* src = tasks_[pe.from].get();
    OutEdge e;
    e.type = pe.grouping;
    OutStream* os = src->find_stream(st.stream);
    if (!os) return undeclared_subscription(st, *src);
    e.stream = static_cast<size_t>(os - src->streams.data());
    e.fields = &os->fields;
    e.source = &os->source;
    for (auto& f : st.grouping.fields) {
      int idx = os->fields.index_of(f);
      if (idx < 0)
        return Status::Invalid("stream " + st.from + " -> " + st.to + " groups by field '" + f +
                               "', which stream '" + st.stream + "' of '" + st.from +
                               "' does not declare");
      e.key_idx.push_back(idx);
    }
    if (e.type == GroupingType::fields && e.key_idx.empty())
      return Status::Invalid("stream " + st.from + " -> " + st.to +
                             ": fields grouping without fields");
    if (pe.chain) {
      e.chain = tasks_[*pe.chain].get();
      e.chain->chained_from = src;
      src->chained.push_back(e.chain);
    } else {
      for (size_t c : pe.channels) e.targets.push_back(channels_[c].get());
      e.preferred = pe.local;
    }
    e.pending.resize(e.targets.size());
    src->out.push_back(std::move(e));
  }
  for (auto& t : tasks_) order_edges_by_stream(*t);
  return wire_dead_letters(registry);
}

// A channel between two tasks of this worker is in memory (InboxSender); one that crosses workers
// is the transport's (EngineOptions::remote): a sender for a local upstream, a receiver feeding
// the local downstream's FIFO otherwise. A channel between two other workers is not ours (null).
Status Engine::wire_channels() {
  channels_.reserve(plan_.channels.size());
  for (size_t i = 0; i < plan_.channels.size(); ++i) {
    const PlannedChannel& ch = plan_.channels[i];
    Task *from = tasks_[ch.from].get(), *to = tasks_[ch.to].get();
    if (from->local && to->local) {
      channels_.push_back(std::make_unique<InboxSender>(*to->inbox, ch.input));
      continue;
    }
    channels_.push_back(nullptr);
    if (!from->local && !to->local) continue;
    const int from_worker = plan_.tasks[ch.from].worker, to_worker = plan_.tasks[ch.to].worker;
    const StreamSpec& st = spec_.streams[ch.stream];
    OutStream* os = from->find_stream(st.stream);
    if (!os) return undeclared_subscription(st, *from);
    if (!options_.remote)
      return Status::Invalid("task " + from->name() + " (worker " + std::to_string(from_worker) +
                             ") sends to " + to->name() + " (worker " + std::to_string(to_worker) +
                             "), but this engine was given no transport for channels between "
                             "workers (EngineOptions::remote): run it in a cluster worker, or "
                             "place every task on this worker");
    if (from->local) {
      auto sender = options_.remote->sender(i, ch, to_worker);
      if (!sender.ok())
        return sender.status().with_context("channel " + from->name() + " -> " + to->name());
      channels_.back() = std::move(sender).value();
    } else {
      SLEET_RETURN_IF_ERROR(
          options_.remote->receiver(i, ch, from_worker, *to->inbox, &os->fields, &os->source)
              .with_context("channel " + from->name() + " -> " + to->name()));
    }
  }
  return Status::Ok();
}

// After wire(): one dead-letter sink task per task of each on_error: dead_letter component,
// chained to it (same thread and fiber; no inbox), appended to tasks_ so the coordinator waits for
// its snapshot and visible_checkpoint() for its publish. What the sink is, the layer above says
// (EngineOptions::dead_letter_sink).
Status Engine::wire_dead_letters(const Registry& registry) {
  const size_t n = tasks_.size();
  for (size_t i = 0; i < n; ++i) {
    Task* parent = tasks_[i].get();
    const ComponentSpec& cs = *parent->spec;
    if (cs.on_error != ErrorPolicy::dead_letter || !parent->bolt || !parent->local) continue;
    if (!options_.dead_letter_sink)
      return Status::Invalid("component '" + cs.id +
                             "' has on_error: dead_letter, but this engine was given no "
                             "dead-letter sink (EngineOptions::dead_letter_sink): run it in a "
                             "worker, or choose on_error: skip or fail");
    auto sink = options_.dead_letter_sink(spec_, cs, parent->index);
    if (!sink.ok()) return sink.status();
    parent->source_topic = sink->source_topic;
    auto dspec = std::make_unique<ComponentSpec>();
    dspec->id = dead_letter_component_id(cs.id);
    dspec->class_name = sink->class_name;
    dspec->parallelism = cs.parallelism;
    dspec->args = sink->args;
    auto c = registry.create(dspec->class_name, dspec->args);
    if (!c.ok()) return c.status().with_context("dead-letter sink of '" + cs.id + "'");
    auto t = std::make_unique<Task>();
    Task* raw = t.get();
    t->engine = this;
    t->comp = std::move(c).value();
    t->bolt = dynamic_cast<Bolt*>(t->comp.get());
    if (!t->bolt)
      return Status::Invalid("dead-letter sink of '" + cs.id + "': class '" + dspec->class_name +
                             "' is not a bolt");
    t->is_dead_letter = true;
    t->index = parent->index;
    t->thread = parent->thread;
    t->batch_size = options_.batch_size;
    t->ctx = parent->ctx;
    t->ctx.component = dspec->id;
    t->ctx.counter = [raw](const std::string& name) { return raw->counter(name); };
    t->ctx.timers = [raw](std::chrono::milliseconds iv) { return raw->schedule(iv); };
    t->in_count = raw->counter("in");
    t->out_count = raw->counter("out");
    t->skipped = raw->counter("skipped");
    t->failed_count = raw->counter("failed");
    t->dead_letters = raw->counter("dead_letters");
    t->spec = dspec.get();
    SLEET_RETURN_IF_ERROR(t->init_streams().with_context("dead-letter sink of '" + cs.id + "'"));
    t->own_spec = std::move(dspec);
    t->chained_from = parent;
    parent->chained.push_back(raw);
    parent->dead_letter = raw;
    tasks_.push_back(std::move(t));
  }
  return Status::Ok();
}

namespace {

// Restores the managed keyed states of every local task from the plan's chains, several tasks at
// once (blobs are streamed, so memory stays at the state's own size). Starting thread, before
// restore_state; a refusal names checkpoint, task, state and blob.
Status restore_keyed_states(std::vector<std::unique_ptr<Task>>& tasks, const RestorePlan& plan,
                            int threads) {
  std::vector<Task*> todo;
  for (auto& t : tasks)
    if (t->local && t->managed && !t->managed->empty()) todo.push_back(t.get());
  if (todo.empty()) return Status::Ok();
  static const std::vector<StateLink> kNone;
  auto one = [&](Task* t) {
    auto it = plan.links.find({t->spec->id, t->index.value});
    return t->managed->restore(plan.id, it == plan.links.end() ? kNone : it->second, plan,
                               t->name());
  };
  size_t n = threads > 0 ? static_cast<size_t>(threads) : std::thread::hardware_concurrency();
  n = std::max<size_t>(1, std::min(n, todo.size()));
  std::vector<Status> results(todo.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < todo.size();) results[i] = one(todo[i]);
  };
  std::vector<std::thread> pool;
  for (size_t k = 1; k < n; ++k) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  for (auto& r : results) SLEET_RETURN_IF_ERROR(r);
  return Status::Ok();
}

}  // namespace

Status Engine::start(const RestorePlan& restore) {
  if (started_) return Status::Internal("engine already started");
  requested_ = restore.id;
  committed_ = restore.id;
  SLEET_RETURN_IF_ERROR(restore_keyed_states(tasks_, restore, options_.threads));
  for (auto& t : tasks_) {
    if (!t->local) continue;
    t->last_barrier = restore.id;
    t->last_commit_seen = restore.id;
    t->last_commit_done = restore.id;
    auto it = restore.states.find({t->spec->id, t->index.value});
    if (it != restore.states.end()) {
      std::istringstream is(it->second.second, std::ios::binary);
      try {
        StateReader r(is);
        SLEET_RETURN_IF_ERROR(
            t->comp->restore_state(r, it->second.first).with_context("restoring " + t->name()));
      } catch (const std::exception& e) {
        return Status::Corruption("restoring " + t->name() + " from checkpoint " +
                                  std::to_string(restore.id.value) + ": " + e.what());
      }
    }
    if (t->spout) SLEET_RETURN_IF_ERROR(t->spout->seek(restore.positions_for(t->spec->id)));
    if (auto* et = dynamic_cast<EventTimeCheckpointed*>(t->spout))
      et->restore_event_times(restore.event_times_for(t->spec->id));
    SLEET_RETURN_IF_ERROR(
        t->comp->on_recover(restore.id, t->ctx).with_context("recovering " + t->name()));
    SLEET_RETURN_IF_ERROR(t->comp->open(t->ctx).with_context("opening " + t->name()));
  }
  started_ = true;
  const int n = options_.threads;
  for (int th = 0; th < n; ++th) {
    threads_.emplace_back([this, th] {
      std::vector<boost::fibers::fiber> fibers;
      for (auto& t : tasks_) {
        // Chained: runs in its head's fiber. Placed elsewhere: not ours to run.
        if (t->thread != th || t->chained_from || !t->local) continue;
        Task* raw = t.get();
        fibers.emplace_back(std::allocator_arg, boost::fibers::fixedsize_stack(256 * 1024),
                            [raw] { raw->run(); });
      }
      for (auto& f : fibers) f.join();
    });
  }
  return Status::Ok();
}

void Engine::trigger_checkpoint(CheckpointId id) {
  CheckpointId cur = requested_.load();
  while (id > cur && !requested_.compare_exchange_weak(cur, id)) {
  }
}

void Engine::checkpoint_committed(CheckpointId id) {
  if (id.value > 0) {
    // Before committed_ moves: a sink that sees the commit finds when it was noticed.
    CommitNotice& n = notices_[static_cast<size_t>(id.value) % kNotices];
    n.id.store(0, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    n.ns.store(TaskMetrics::now_ns(), std::memory_order_relaxed);
    n.id.store(id.value, std::memory_order_release);
  }
  CheckpointId cur = committed_.load();
  while (id > cur && !committed_.compare_exchange_weak(cur, id)) {
  }
  for (auto& t : tasks_)
    if (t->inbox) t->inbox->poke();
}

int64_t Engine::commit_notice_ns(CheckpointId after, CheckpointId upto) const {
  const int64_t from = std::max(after.value + 1, upto.value - static_cast<int64_t>(kNotices) + 1);
  for (int64_t k = std::max<int64_t>(1, from); k <= upto.value; ++k) {
    const CommitNotice& n = notices_[static_cast<size_t>(k) % kNotices];
    if (n.id.load(std::memory_order_acquire) != k) continue;  // aborted, or overwritten
    const int64_t ns = n.ns.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (n.id.load(std::memory_order_relaxed) == k) return ns;  // the earliest remembered
  }
  return 0;
}

CheckpointId Engine::visible_checkpoint() const {
  if (tasks_.empty()) return CheckpointId{0};
  CheckpointId v{INT64_MAX};
  for (auto& t : tasks_)
    if (t->local) v = std::min(v, t->last_commit_done.load(std::memory_order_acquire));
  return v.value == INT64_MAX ? CheckpointId{0} : v;
}

void Engine::request_stop() {
  stop_ = true;
}

void Engine::abort() {
  // aborted_ before stop_: a task leaving its loop because of stop_ must see it and skip the end
  // of stream. Closing the inboxes wakes bolts waiting for input and any fiber parked in a push
  // to a full inbox (its push returns false); spouts see stop_ at their next loop turn.
  aborted_ = true;
  stop_ = true;
  for (auto& t : tasks_)
    if (t->inbox) t->inbox->close();
}

Status Engine::wait() {
  for (auto& th : threads_)
    if (th.joinable()) th.join();
  // Every snapshot a task took is written and acked before wait() returns.
  if (async_) async_->drain();
  finished_ = true;
  return failure();
}

AsyncSnapshotStats Engine::snapshot_stats() const {
  return async_ ? async_->stats() : AsyncSnapshotStats{};
}

void Engine::record_pause(int64_t us) {
  int64_t cur = max_pause_us_.load(std::memory_order_relaxed);
  while (us > cur && !max_pause_us_.compare_exchange_weak(cur, us, std::memory_order_relaxed)) {
  }
}

Status Engine::failure() const {
  std::lock_guard lk(mu_);
  return failure_;
}

void Engine::fail(const Status& s) {
  {
    std::lock_guard lk(mu_);
    // After abort() what fails is the aborted run's unwinding, not the topology.
    if (failure_.ok() && !aborted_.load()) failure_ = s;
  }
  failed_ = true;
  stop_ = true;
}

std::vector<TaskStats> Engine::stats() const {
  std::vector<TaskStats> out;
  for (auto& t : tasks_) {
    if (!t->local) continue;
    TaskStats s;
    s.component = t->spec->id;
    s.task = t->index.value;
    std::lock_guard lk(t->counters_mu);
    for (auto& [k, c] : t->counters) s.counters[k] = c->get();
    s.execute = t->metrics.execute.snapshot();
    s.publish = t->metrics.publish.snapshot();
    s.backpressure_ns = t->metrics.backpressure_ns.load(std::memory_order_relaxed);
    s.idle_ns = t->metrics.idle_ns.load(std::memory_order_relaxed);
    if (t->inbox) s.queue_depth = static_cast<int64_t>(t->inbox->queued());
    s.spout = t->spout != nullptr;
    s.dead_letter_sink = t->is_dead_letter;
    out.push_back(std::move(s));
  }
  return out;
}

size_t Engine::task_count() const {
  size_t n = 0;
  for (auto& t : tasks_) n += t->local;
  return n;
}

std::vector<std::string> Engine::stateful_components() const {
  std::vector<std::string> out;
  for (auto& t : tasks_)
    if (t->local && t->comp->stateful() && !t->is_dead_letter &&
        (out.empty() || out.back() != t->spec->id))
      out.push_back(t->spec->id);
  return out;
}

bool Engine::all_spouts_drained() const {
  for (auto& t : tasks_)
    if (t->local && t->spout && !t->drained.load(std::memory_order_relaxed)) return false;
  return true;
}

}  // namespace sleet
