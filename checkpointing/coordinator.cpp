#include "checkpointing/coordinator.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "core/kill_point.hpp"

namespace sleet {

using namespace std::chrono_literals;

namespace {
// The coordinator waits at most this long before re-reading options_.now(), so an injected clock
// (the tests') drives timeouts and intervals as the real one does.
constexpr auto kMaxWait = 50ms;
std::chrono::milliseconds wait_cap(std::chrono::steady_clock::duration remaining) {
  auto r = std::chrono::ceil<std::chrono::milliseconds>(remaining);
  return std::clamp(r, std::chrono::milliseconds(0), std::chrono::milliseconds(kMaxWait));
}
int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
// Two spouts on one topic each have a position per partition: the lower one is what is still
// needed.
std::map<std::string, int64_t> lowest_positions(const std::vector<TaskPosition>& positions) {
  std::map<std::string, int64_t> out;
  for (auto& tp : positions) {
    const SourcePosition& p = tp.position;
    auto [it, fresh] = out.emplace(p.topic + ":" + std::to_string(p.partition.value), p.next.value);
    if (!fresh) it->second = std::min(it->second, p.next.value);
  }
  return out;
}
}  // namespace

const char* coordinator_state_name(CoordinatorState s) {
  using State = CoordinatorState;
  switch (s) {
    case State::idle:
      return "idle";
    case State::collecting:
      return "collecting";
    case State::committing:
      return "committing";
    case State::resolving:
      return "waiting for ZooKeeper";
    case State::failed:
      return "failed";
    case State::stopped:
      return "stopped";
  }
  return "?";
}

Coordinator::Coordinator(CheckpointStore& store, SnapshotStore& snapshots,
                         CoordinatorOptions options)
    : store_(store), snapshots_(snapshots), options_(std::move(options)) {}

Coordinator::~Coordinator() {
  stop();
}

void Coordinator::start(CheckpointTarget& target, Generation gen, CheckpointId last_committed,
                        Manifest base) {
  base_ = std::move(base);
  target_ = &target;
  gen_ = gen;
  current_ = last_committed;
  {
    std::lock_guard lk(mu_);
    stats_.last_committed = last_committed;
    stats_.committed_at = options_.now();
    stats_.committed_offsets = 0;
    for (auto& p : base_.positions) stats_.committed_offsets += p.position.next.value;
    stats_.committed_positions = lowest_positions(base_.positions);
  }
  // The first checkpoint goes out at once: after a recovery it is what makes progress durable
  // again, and it is cheap (state was just restored).
  next_trigger_ = options_.now();
  thread_ = std::thread([this] { run(); });
}

void Coordinator::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Coordinator::on_task_snapshot(TaskSnapshotData&& data) {
  {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(data));
  }
  cv_.notify_all();
}

CheckpointStats Coordinator::stats() const {
  std::lock_guard lk(mu_);
  CheckpointStats s = stats_;
  s.state = sm_.state_name();
  return s;
}

Status Coordinator::failure() const {
  std::lock_guard lk(mu_);
  return failure_;
}

void Coordinator::go(State to, const std::string& why) {
  std::lock_guard lk(mu_);
  go_locked(to, why);
}

void Coordinator::go_locked(State to, const std::string& why) {
  Status st = sm_.transition(to, why);
  if (st.ok()) return;
  if (failure_.ok())
    failure_ = st.with_context("checkpoint " + std::to_string(current_.value) +
                               ": the coordinator stopped checkpointing");
  (void)sm_.transition(State::failed, "illegal transition");  // refused only when terminal already
}

void Coordinator::run() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    switch (sm_.state()) {
      case State::idle: {
        // Acks of an aborted checkpoint may still arrive: they are stale, drop them (their blobs,
        // written by the tasks, are swept by the next retain: ids below latest never committed).
        queue_.clear();
        // The predicate re-reads next_trigger_: trigger_now() may move it earlier. The wait is
        // capped so an injected clock (tests) is re-read, as the real one is.
        cv_.wait_for(lk, wait_cap(next_trigger_ - options_.now()),
                     [&] { return stop_ || options_.now() >= next_trigger_; });
        if (stop_) break;
        if (options_.now() < next_trigger_) break;
        lk.unlock();
        begin(CheckpointId{current_.value + 1});
        lk.lock();
        break;
      }
      case State::collecting:
        collect(lk);
        break;
      case State::committing:
        lk.unlock();
        commit();
        lk.lock();
        break;
      case State::resolving:
        lk.unlock();
        resolve();
        lk.lock();
        break;
      case State::failed:
      case State::stopped:
        cv_.wait(lk, [&] { return stop_; });
        break;
    }
  }
  if (sm_.state() != State::failed) go_locked(State::stopped, "stop()");
}

void Coordinator::begin(CheckpointId id) {
  current_ = id;
  pending_ = base_;
  pending_.id = id;
  pending_.positions.clear();
  pending_.event_times.clear();
  pending_.tasks.clear();
  pending_.total_bytes = 0;
  acked_ = 0;
  acked_names_.clear();
  all_drained_ = true;
  started_at_ = options_.now();
  {
    std::lock_guard lk(mu_);
    go_locked(State::collecting, "checkpoint " + std::to_string(id.value));
    if (sm_.state() != State::collecting) return;
    trigger_requested_ = false;  // this checkpoint starts after the request: it serves it
  }
  target_->trigger_checkpoint(id);
}

// Called with mu_ held; releases it while handling an ack. The blobs are written by the tasks
// (on their fibers) before they ack: an ack carries the handle, or the write error.
void Coordinator::collect(std::unique_lock<std::mutex>& lk) {
  auto deadline = started_at_ + options_.timeout;
  cv_.wait_for(lk, wait_cap(deadline - options_.now()), [&] { return stop_ || !queue_.empty(); });
  if (stop_) return;
  if (queue_.empty()) {
    if (options_.now() < deadline) return;  // capped wait ended early: wait on
    lk.unlock();
    std::vector<std::string> missing;
    for (auto& n : target_->task_names())
      if (!acked_names_.count(n)) missing.push_back(n);
    std::string waiting;
    for (size_t i = 0; i < missing.size() && i < 5; ++i) waiting += (i ? ", " : "") + missing[i];
    if (missing.size() > 5) waiting += ", ...";
    abort_current("timed out after " + std::to_string(options_.timeout.count()) + " ms with " +
                      std::to_string(acked_) + " of " + std::to_string(target_->task_count()) +
                      " tasks" + (waiting.empty() ? "" : "; no ack from " + waiting),
                  std::move(missing));
    lk.lock();
    return;
  }
  TaskSnapshotData d = std::move(queue_.front());
  queue_.pop_front();
  lk.unlock();
  if (d.id == current_) {
    if (d.stateful) {
      if (!d.error.ok()) {
        abort_current("writing state of " + snapshot_task_key(d.component, d.task) + ": " +
                      d.error.to_string());
        lk.lock();
        return;
      }
      kill_point("coordinator.after_snapshot_write");
      pending_.tasks.push_back(
          TaskSnapshot{d.component, d.task.value, d.state_version, d.handle, {}});
      pending_.total_bytes += static_cast<int64_t>(d.handle.size);
      // Bytes written by this checkpoint: keyed-state links of earlier ones were counted then.
      for (const StateLink& l : d.links)
        if (l.id == d.id) pending_.total_bytes += static_cast<int64_t>(l.handle.size);
      pending_.tasks.back().links = std::move(d.links);
    }
    add_positions(pending_, d);
    if (d.source) all_drained_ = all_drained_ && d.drained;
    acked_names_.insert(d.component + "[" + std::to_string(d.task.value) + "]");
    if (++acked_ == target_->task_count()) {
      aligned_at_ = options_.now();
      go(State::committing, "checkpoint " + std::to_string(current_.value) + ": every task acked");
    }
  }
  lk.lock();
}

void Coordinator::commit() {
  pending_.created_unix_ms = unix_ms();
  sort_positions(pending_.positions);
  sort_event_times(pending_.event_times);
  kill_point("coordinator.before_commit");
  Status s = store_.commit(pending_, gen_);
  if (s.ok()) return finish_commit();
  if (s.code() == Code::fenced) {
    std::lock_guard lk(mu_);
    failure_ = s.with_context("checkpoint " + std::to_string(current_.value) +
                              ": another coordinator took over this topology");
    go_locked(State::failed, "checkpoint " + std::to_string(current_.value) + ": fenced");
    return;
  }
  if (s.error_class() == ErrorClass::retriable) {
    // The multi may or may not have been applied: find out before doing anything else.
    spdlog::warn("checkpoint {}: commit outcome unknown ({}); waiting for ZooKeeper",
                 current_.value, s.to_string());
    go(State::resolving, "checkpoint " + std::to_string(current_.value) + ": outcome unknown");
    return;
  }
  abort_current("commit failed: " + s.to_string());
}

void Coordinator::resolve() {
  auto latest = store_.latest_id();
  if (!latest.ok()) {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, 200ms, [&] { return stop_; });
    return;
  }
  if (latest->has_value() && **latest == current_) {
    spdlog::info("checkpoint {}: the commit had been applied", current_.value);
    return finish_commit();
  }
  go(State::committing, "checkpoint " + std::to_string(current_.value) + ": not committed yet");
}

void Coordinator::finish_commit() {
  kill_point("coordinator.after_commit");
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(options_.now() - started_at_);
  {
    std::lock_guard lk(mu_);
    stats_.last_committed = current_;
    stats_.last_duration_ms = took.count();
    stats_.last_bytes = pending_.total_bytes;
    stats_.drained = all_drained_;
    stats_.committed++;
    stats_.committed_at = options_.now();
    stats_.committed_offsets = 0;
    for (auto& p : pending_.positions) stats_.committed_offsets += p.position.next.value;
    stats_.committed_positions = lowest_positions(pending_.positions);
    record_locked("completed", "");
    go_locked(State::idle, "checkpoint " + std::to_string(current_.value) + " committed");
  }
  spdlog::debug("checkpoint {} committed in {} ms, {} bytes of state", current_.value, took.count(),
                pending_.total_bytes);
  target_->checkpoint_committed(current_);
  // Retention after the notice: deleting what no retained checkpoint needs takes up to a second
  // right after a new base of a large keyed state (bench/RESULTS.md), and the sinks' publish and
  // the status need not wait for it. The next trigger does (this thread), but it is due an interval
  // after this checkpoint started anyway. A crash before it leaves old blobs that the next
  // commit's retention deletes.
  if (Status r = store_.retain(current_, snapshots_); !r.ok())
    spdlog::warn("checkpoint {}: cleaning older checkpoints failed: {}", current_.value,
                 r.to_string());
  std::lock_guard lk(mu_);  // trigger_now() touches both from other threads
  next_trigger_ = started_at_ + options_.interval;
  if (next_trigger_ < options_.now() || trigger_requested_) next_trigger_ = options_.now();
}

void Coordinator::trigger_now() {
  {
    std::lock_guard lk(mu_);
    // Remembered, not just a moved deadline: a checkpoint in flight resets next_trigger_ when it
    // commits or aborts, and the request must survive that.
    trigger_requested_ = true;
    next_trigger_ = options_.now();
  }
  cv_.notify_all();
}

void Coordinator::abort_current(const std::string& why, std::vector<std::string> missing) {
  spdlog::warn("checkpoint {} aborted: {}", current_.value, why);
  // Only this generation's blobs of the id: a stale coordinator aborting an id the live one also
  // uses must not delete the live attempt's blobs.
  if (Status r = snapshots_.remove_attempt(current_, gen_); !r.ok())
    spdlog::warn(
        "checkpoint {}: removing the aborted attempt's blobs failed (retention sweeps "
        "them later): {}",
        current_.value, r.to_string());
  std::lock_guard lk(mu_);
  stats_.aborted++;
  stats_.last_abort_reason = why;
  stats_.last_abort_missing = std::move(missing);
  const bool failed = why.rfind("commit failed", 0) == 0;
  if (failed) stats_.failed++;
  record_locked(failed ? "failed" : "aborted", why);
  go_locked(State::idle, "checkpoint " + std::to_string(current_.value) + " aborted");
  next_trigger_ = trigger_requested_ ? options_.now() : options_.now() + options_.interval;
}

void Coordinator::record_locked(const std::string& outcome, const std::string& reason) {
  CheckpointRecord r;
  r.id = current_;
  r.outcome = outcome;
  r.reason = reason;
  r.at = options_.now();
  r.duration_s = std::chrono::duration<double>(r.at - started_at_).count();
  if (aligned_at_ >= started_at_)
    r.alignment_s = std::chrono::duration<double>(aligned_at_ - started_at_).count();
  if (outcome == "completed") r.bytes = pending_.total_bytes;
  auto& h = stats_.history;
  h.insert(h.begin(), std::move(r));
  if (h.size() > 10) h.pop_back();
}

void add_positions(Manifest& m, const TaskSnapshotData& d) {
  for (const auto& p : d.positions) m.positions.push_back({d.component, d.task.value, p});
  for (const auto& e : d.event_times) m.event_times.push_back({d.component, d.task.value, e});
}

void sort_event_times(std::vector<TaskEventTime>& es) {
  std::sort(es.begin(), es.end(), [](const TaskEventTime& a, const TaskEventTime& b) {
    return std::tie(a.component, a.task, a.event_time.topic, a.event_time.partition.value) <
           std::tie(b.component, b.task, b.event_time.topic, b.event_time.partition.value);
  });
}

std::map<std::string, SourceEventTimes> restore_event_times(const std::vector<TaskEventTime>& es) {
  std::map<std::string, SourceEventTimes> out;
  for (const auto& e : es) out[e.component].push_back(e.event_time);
  return out;
}

void sort_positions(std::vector<TaskPosition>& ps) {
  std::sort(ps.begin(), ps.end(), [](const TaskPosition& a, const TaskPosition& b) {
    return std::tie(a.component, a.task, a.position.topic, a.position.partition.value) <
           std::tie(b.component, b.task, b.position.topic, b.position.partition.value);
  });
}

std::map<std::string, SourcePositions> restore_positions(const std::vector<TaskPosition>& ps) {
  std::map<std::string, SourcePositions> out;
  for (const auto& p : ps) out[p.component].push_back(p.position);
  return out;
}

std::vector<TaskPosition> task_positions(const RestorePlan& plan) {
  std::vector<TaskPosition> out;
  for (const auto& [component, ps] : plan.positions)
    for (const auto& p : ps) out.push_back({component, -1, p});
  return out;
}

StatefulShape stateful_shape(const TopologySpec& spec, const std::string& id) {
  StatefulShape shape;
  if (const ComponentSpec* c = spec.find(id)) shape.class_name = c->class_name;
  for (auto& st : spec.streams) {
    if (st.to != id) continue;
    // A named stream counts as another input ("from@stream"); the default stream as before.
    InputStream in{st.stream == kDefaultStream ? st.from : st.from + "@" + st.stream,
                   grouping_name(st.grouping.type),
                   {}};
    if (st.grouping.type == GroupingType::fields) in.fields = st.grouping.fields;
    shape.inputs.push_back(std::move(in));
  }
  std::sort(shape.inputs.begin(), shape.inputs.end());
  return shape;
}

Manifest manifest_base(const TopologySpec& spec, const std::vector<std::string>& stateful) {
  Manifest m;
  m.topology = spec.name;
  m.fingerprint = spec.fingerprint();
  for (auto& c : spec.components) m.parallelism[c.id] = c.parallelism;
  m.stateful = stateful;
  for (auto& id : stateful) m.shapes[id] = stateful_shape(spec, id);
  return m;
}

Result<RestorePlan> plan_recovery(const Manifest& m, const TopologySpec& spec,
                                  SnapshotStore& snapshots, const std::string& topology_path) {
  const std::string where =
      "checkpoint " + std::to_string(m.id.value) + " of topology '" + m.topology + "'";
  // Every refusal ends with the two ways out, so the user never has to guess what to delete.
  const std::string way_out =
      ". Otherwise start under a new topology name, or delete " + topology_path +
      " in ZooKeeper and " + snapshots.dir().string() +
      " to start from scratch (spouts then read from their `start` position)";
  for (auto& id : m.stateful) {
    const ComponentSpec* c = spec.find(id);
    if (!c)
      return Status::Incompatible(where + " holds state of component '" + id +
                                  "', which the topology no longer has; restore the component" +
                                  way_out);
    auto old_shape = m.shapes.find(id);
    const StatefulShape now = stateful_shape(spec, id);
    if (old_shape != m.shapes.end() && old_shape->second.class_name != now.class_name)
      return Status::Incompatible(where + " holds state of component '" + id +
                                  "' written by class '" + old_shape->second.class_name +
                                  "', but its class is now '" + now.class_name +
                                  "', which cannot be trusted to read that state; restore the "
                                  "class" +
                                  way_out);
    auto it = m.parallelism.find(id);
    if (it != m.parallelism.end() && it->second != c->parallelism)
      return Status::Incompatible(
          where + " holds state of component '" + id + "' for " + std::to_string(it->second) +
          " tasks, but it now has parallelism " + std::to_string(c->parallelism) +
          "; its keyed state cannot be redistributed yet. Restore the parallelism" + way_out);
    if (old_shape != m.shapes.end() && old_shape->second.inputs != now.inputs)
      return Status::Incompatible(
          where + " holds state of component '" + id + "' whose input streams were " +
          old_shape->second.describe_inputs() + ", but they are now " + now.describe_inputs() +
          "; restored per-key state would sit on tasks its keys are no longer routed to. "
          "Restore the streams and their groupings" +
          way_out);
  }
  RestorePlan plan;
  plan.id = m.id;
  plan.positions = restore_positions(m.positions);
  plan.event_times = restore_event_times(m.event_times);
  for (auto& t : m.tasks) {
    const std::string task =
        where + ": state of " + t.component + "[" + std::to_string(t.task) + "]";
    auto bytes = snapshots.get(t.handle);
    if (!bytes.ok()) return bytes.status().with_context(task);
    plan.states[{t.component, t.task}] = {t.state_version, std::move(bytes).value()};
    if (t.links.empty()) continue;
    // Keyed-state chains are streamed by the engine (tasks in parallel); a missing link is
    // refused here already, before anything starts.
    for (const StateLink& l : t.links) {
      Status st = snapshots.check_present(l.handle);
      if (!st.ok())
        return Status(st.code(), task + ", keyed state '" + l.state + "', " +
                                     (l.base ? "base" : "delta") + " blob of checkpoint " +
                                     std::to_string(l.id.value) + ": " + st.message());
    }
    plan.links[{t.component, t.task}] = t.links;
  }
  if (!plan.links.empty())
    plan.read_blob = [&snapshots](const BlobHandle& h,
                                  const std::function<Status(std::string_view)>& consume) {
      return snapshots.read(h, consume);
    };
  return plan;
}

}  // namespace sleet
