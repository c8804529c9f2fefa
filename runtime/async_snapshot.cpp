#include "runtime/async_snapshot.hpp"

#include <set>

#include "core/kill_point.hpp"
#include "core/state_chain.hpp"

namespace sleet {

AsyncSnapshotWriter::AsyncSnapshotWriter(SnapshotWriter& writer, SnapshotListener& listener,
                                         size_t threads)
    : writer_(writer), listener_(listener) {
  if (threads == 0) threads = 1;
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

AsyncSnapshotWriter::~AsyncSnapshotWriter() {
  drain();
}

void AsyncSnapshotWriter::submit(SnapshotJob job) {
  {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void AsyncSnapshotWriter::drain() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

AsyncSnapshotStats AsyncSnapshotWriter::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

void AsyncSnapshotWriter::run() {
  for (;;) {
    SnapshotJob job;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and every queued job is done
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    process(job);
  }
}

// Writer thread. The keyed blobs first, then the cereal blob, then the chains are recorded, then
// the ack: a checkpoint can only commit with every blob of the task durable.
void AsyncSnapshotWriter::process(SnapshotJob& job) {
  TaskSnapshotData& a = job.ack;
  const std::string task = a.component + "[" + std::to_string(a.task.value) + "]";
  std::vector<StateLink> links;
  Status err;
  int64_t bytes = 0, keyed = 0, bases = 0, deltas = 0;
  for (KeyedPart& p : job.parts) {
    std::string buf;
    p.view->serialize(buf);
    // The task is already past barrier a.id; the blob is not durable yet.
    kill_point("snapshot.async_write");
    const bool base = p.view->base();
    auto h = writer_.write(a.id, keyed_state_blob_key(job.task_key, p.state), buf);
    if (!h.ok()) {
      err = h.status().with_context(task + " writing keyed state '" + p.state + "' of checkpoint " +
                                    std::to_string(a.id.value));
      break;
    }
    StateLink link{p.state, a.id, base, p.view->entries(), *h};
    p.view.reset();
    if (!base) kill_point("snapshot.after_delta_write");  // durable delta, manifest not committed
    for (auto& l : extend_chain(std::move(p.chain), link)) links.push_back(std::move(l));
    bytes += static_cast<int64_t>(buf.size());
    keyed += static_cast<int64_t>(buf.size());
    (base ? bases : deltas) += 1;
  }
  if (err.ok()) {
    auto h = writer_.write(a.id, job.task_key, job.state_bytes);
    if (h.ok()) {
      a.handle = std::move(h).value();
      bytes += static_cast<int64_t>(job.state_bytes.size());
      kill_point("task.after_snapshot_write");  // the blobs are durable, the ack not yet sent
    } else {
      err = h.status();
    }
  }
  if (err.ok()) {
    if (job.owner) job.owner->written(a.id, links);
    a.links = std::move(links);
  } else {
    a.error = err;
  }
  job.parts.clear();  // release the views before the ack
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - job.frozen_at)
                      .count();
  {
    std::lock_guard lk(mu_);
    ++stats_.jobs;
    stats_.bytes_written += bytes;
    stats_.keyed_bytes_written += keyed;
    stats_.bases += bases;
    stats_.deltas += deltas;
    stats_.last_job_us = us;
    stats_.max_job_us = std::max<int64_t>(stats_.max_job_us, us);
  }
  listener_.on_task_snapshot(std::move(a));
}

Result<std::shared_ptr<ManagedStates>> ManagedStates::bind(Component& comp,
                                                           const std::string& task_name) {
  auto m = std::make_shared<ManagedStates>();
  std::set<std::string> names;
  for (KeyedStateRef& r : comp.keyed_states()) {
    SLEET_RETURN_IF_ERROR(check_keyed_state_name(r.name).with_context(task_name));
    if (!r.state) return Status::Invalid(task_name + ": keyed state '" + r.name + "' is null");
    if (!names.insert(r.name).second)
      return Status::Invalid(task_name + ": two keyed states are named '" + r.name + "'");
    m->states_.push_back(State{r.name, r.state, {}});
  }
  return m;
}

Status ManagedStates::restore(CheckpointId id, const std::vector<StateLink>& links,
                              const RestorePlan& plan, const std::string& task_name) {
  const std::string where = "checkpoint " + std::to_string(id.value) + ", " + task_name;
  std::map<std::string, std::vector<StateLink>> chains;
  for (const StateLink& l : links) chains[l.state].push_back(l);
  for (auto& [name, chain] : chains) {
    State* s = nullptr;
    for (State& st : states_)
      if (st.name == name) s = &st;
    if (!s)
      return Status::Incompatible(where + " holds keyed state '" + name +
                                  "', which the component no longer returns from keyed_states(); "
                                  "restore it under that name, or start from scratch");
    const std::string sw = where + ", keyed state '" + name + "'";
    SLEET_RETURN_IF_ERROR(check_chain(chain, sw));
    if (!plan.read_blob) return Status::Internal(sw + ": the restore plan cannot read blobs");
    for (const StateLink& l : chain) {
      const std::string bw = sw + ", blob " + l.handle.location + " (" +
                             (l.base ? "base" : "delta") + " of checkpoint " +
                             std::to_string(l.id.value) + ")";
      Status st = plan.read_blob(l.handle,
                                 [&](std::string_view bytes) { return s->ks->apply_blob(bytes); });
      if (!st.ok()) return Status(st.code(), bw + ": " + st.message());
    }
    s->chain = chain;
  }
  for (State& st : states_) st.ks->restored(static_cast<uint64_t>(id.value));
  tip_ = id;
  return Status::Ok();
}

void ManagedStates::freeze_into(SnapshotJob& job, CheckpointId n) {
  for (State& s : states_) {
    const LinkPlan plan = plan_next_link(s.chain);
    KeyedPart p;
    p.state = s.name;
    p.view = s.ks->freeze(static_cast<uint64_t>(n.value), static_cast<uint64_t>(plan.since.value),
                          plan.base);
    p.chain = s.chain;
    job.parts.push_back(std::move(p));
  }
}

void ManagedStates::written(CheckpointId id, std::vector<StateLink> links) {
  std::lock_guard lk(mu_);
  written_[id] = std::move(links);
}

void ManagedStates::on_committed(CheckpointId c) {
  if (c <= tip_) return;
  std::vector<StateLink> links;
  {
    std::lock_guard lk(mu_);
    auto it = written_.find(c);
    if (it == written_.end()) return;  // not ours (we wrote no blob for c): keep the old tip
    links = std::move(it->second);
    written_.erase(written_.begin(), std::next(it));
  }
  for (State& s : states_) {
    s.chain.clear();
    for (const StateLink& l : links)
      if (l.state == s.name) s.chain.push_back(l);
    s.ks->committed(static_cast<uint64_t>(c.value));
  }
  tip_ = c;
}

}  // namespace sleet
