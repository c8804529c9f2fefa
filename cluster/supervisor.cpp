#include "cluster/supervisor.hpp"

#include <signal.h>

#include <algorithm>

#include "cluster/process.hpp"
#include "cluster/worker.hpp"

namespace sleet::cluster {

using namespace std::chrono_literals;

const char* supervisor_state_name(SupervisorState s) {
  switch (s) {
    case SupervisorState::starting:
      return "starting";
    case SupervisorState::running:
      return "running";
    case SupervisorState::draining:
      return "draining";
    case SupervisorState::backing_off:
      return "backing_off";
    case SupervisorState::restarting:
      return "restarting";
    case SupervisorState::stopping:
      return "stopping";
    case SupervisorState::done:
      return "done";
    case SupervisorState::interrupted:
      return "interrupted";
    case SupervisorState::gave_up:
      return "gave_up";
    case SupervisorState::failed:
      return "failed";
  }
  return "?";
}

const char* worker_child_state_name(WorkerChildState s) {
  switch (s) {
    case WorkerChildState::starting:
      return "starting";
    case WorkerChildState::up:
      return "up";
    case WorkerChildState::backing_off:
      return "backing_off";
    case WorkerChildState::ended:
      return "ended";
  }
  return "?";
}

// Debug level: each transition also has its own console message (SupervisorEvents), and the
// console of `sleet run` stays as it was.
Supervisor::Supervisor(SupervisorOptions options, WorkerLauncher& workers,
                       ZooKeeperChild* zookeeper, InputFeed& input, StatusSource& status,
                       SupervisorClock& clock, std::function<int()> pending_signal,
                       SupervisorEvents& events)
    : Supervisor(std::move(options), std::vector<WorkerSlot>{{&workers, &status, "w0"}}, zookeeper,
                 input, clock, std::move(pending_signal), events) {}

Supervisor::Supervisor(SupervisorOptions options, std::vector<WorkerSlot> workers,
                       ZooKeeperChild* zookeeper, InputFeed& input, SupervisorClock& clock,
                       std::function<int()> pending_signal, SupervisorEvents& events)
    : o_(std::move(options)),
      zk_(zookeeper),
      input_(input),
      clock_(clock),
      pending_signal_(std::move(pending_signal)),
      events_(events),
      sm_("supervisor", SupervisorState::starting, kSupervisorTransitions, supervisor_state_name,
          spdlog::level::debug) {
  children_.reserve(workers.size());
  for (auto& w : workers) children_.emplace_back(std::move(w));
}

double Supervisor::elapsed_s() const {
  return std::chrono::duration<double>(clock_.now() - t0_).count();
}

Status Supervisor::go(SupervisorState to, const std::string& why) {
  SupervisorState from = sm_.state();
  SLEET_RETURN_IF_ERROR(sm_.transition(to, why));
  events_.state_changed(from, to);
  return Status::Ok();
}

SupervisorOutcome Supervisor::end(SupervisorState to, const std::string& why,
                                  SupervisorOutcome out) {
  if (Status s = go(to, why); !s.ok()) {
    SupervisorOutcome bug;
    bug.end = SupervisorState::failed;
    bug.status = std::move(s);
    return bug;
  }
  out.end = to;
  return out;
}

SupervisorOutcome Supervisor::broke(Status why, std::string hint) {
  // With N workers the others still run: a broken run stops them too.
  stop_all(false);
  SupervisorOutcome out;
  out.status = std::move(why);
  out.hint = std::move(hint);
  return end(SupervisorState::failed, out.status.message(), std::move(out));
}

SupervisorClock::time_point Supervisor::next_chaos() {
  return o_.chaos_delay ? clock_.now() + o_.chaos_delay() : SupervisorClock::time_point::max();
}

Status Supervisor::start_worker(Child& c) {
  auto p = c.slot.launcher->start();
  if (!p.ok()) {
    std::string who = children_.size() > 1 ? " " + c.slot.id : "";
    return Status::IoError("cannot start a worker" + who + ": " + p.status().message());
  }
  c.pid = *p;
  c.started = clock_.now();
  return c.sm.transition(WorkerChildState::up, "pid " + std::to_string(c.pid));
}

std::string Supervisor::own_status(Child& c) {
  std::string st = c.slot.status->read();
  if (st.empty() || c.pid == 0 || static_cast<pid_t>(status_number(st, "pid")) != c.pid) return "";
  return st;
}

std::string Supervisor::leader_status() {
  // One worker: its file as written, as it always was (also a dead worker's last one).
  if (children_.size() == 1) return children_[0].slot.status->read();
  for (auto& c : children_) {
    if (c.sm.state() != WorkerChildState::up) continue;
    std::string st = own_status(c);
    if (!st.empty() && status_number(st, "leader") > 0) return st;
  }
  return "";
}

bool Supervisor::all_up() const {
  for (auto& c : children_)
    if (c.sm.state() != WorkerChildState::up) return false;
  return true;
}

std::vector<WorkerView> Supervisor::workers() {
  std::vector<WorkerView> out;
  for (auto& c : children_) {
    WorkerView v;
    v.id = c.slot.id;
    v.pid = c.pid;
    v.state = c.sm.state();
    v.restarts = c.restarts;
    v.status = own_status(c);
    v.leader = children_.size() == 1 || status_number(v.status, "leader") > 0;
    out.push_back(std::move(v));
  }
  return out;
}

std::string Supervisor::worker_id_of(pid_t pid) const {
  for (auto& c : children_)
    if (c.pid == pid) return c.slot.id;
  return "";
}

void Supervisor::check_drops() {
  auto starts = input_.log_starts();
  if (starts.empty()) return;
  for (auto& d : losses(starts, parse_positions(leader_status()), o_.spout_topics)) {
    std::string tp = d.topic + ":" + std::to_string(d.partition);
    if (reported_lost_[tp] >= d.lost) continue;
    lost_total_ += d.lost - reported_lost_[tp];
    reported_lost_[tp] = d.lost;
    events_.dropped(d);
  }
}

// When a worker's aborted-checkpoint count grew: the count and the reason (a timeout naming the
// tasks that did not ack, a blob write error such as a full checkpoint.dir). The same reason
// again is reported at most every abort_repeat_interval.
void Supervisor::report_aborts(Child& c, const std::string& status) {
  int64_t n = static_cast<int64_t>(status_number(status, "aborted"));
  if (n <= c.aborts_seen) return;
  c.aborts_seen = n;
  std::string why = status_string(status, "last_abort_reason");
  if (why == abort_reason_shown_ && clock_.now() - abort_shown_at_ < o_.abort_repeat_interval)
    return;
  abort_reason_shown_ = why;
  abort_shown_at_ = clock_.now();
  events_.checkpoint_aborted(n, why);
}

// One worker: its status drained as always. N workers: the leader's (it runs the coordinator)
// drained as one worker's, and every worker's own status shows that checkpoint visible in its
// sinks (and the leader's cluster_visible says so of every worker of the generation). Only while
// every worker is up: a restarting one has said nothing yet.
bool Supervisor::drained(int64_t* checkpoint) {
  if (!all_up()) return false;
  if (children_.size() == 1) {
    Child& c = children_[0];
    std::string status = c.slot.status->read();
    *checkpoint = static_cast<int64_t>(status_number(status, "last_checkpoint"));
    return is_drained({c.pid, status, true, input_.final_ends()});
  }
  Child* leader = nullptr;
  std::string leader_st;
  std::vector<std::string> statuses;
  for (auto& c : children_) {
    statuses.push_back(own_status(c));
    if (!leader && !statuses.back().empty() && status_number(statuses.back(), "leader") > 0) {
      leader = &c;
      leader_st = statuses.back();
    }
  }
  if (!leader || !is_drained({leader->pid, leader_st, true, input_.final_ends()})) return false;
  const auto cp = static_cast<int64_t>(status_number(leader_st, "last_checkpoint"));
  // The coordinator's view covers every worker of the generation, also one this supervisor did
  // not start (`sleet worker` joined by hand): all of them must show the checkpoint visible.
  // (Absent in a status without it: only the supervisor's own workers are checked then.)
  if (const double cv = status_number(leader_st, "cluster_visible", -2); cv != -2 && cv < cp)
    return false;
  for (auto& st : statuses)
    if (st.empty() || static_cast<int64_t>(status_number(st, "visible")) < cp) return false;
  *checkpoint = cp;
  return true;
}

void Supervisor::stop_all(bool drained) {
  for (auto& c : children_)
    if (c.sm.state() == WorkerChildState::up) c.slot.launcher->terminate();
  for (auto& c : children_) {
    if (c.sm.state() != WorkerChildState::up) continue;
    events_.worker_stopped(c.slot.launcher->stop(o_.stop_grace), drained);
    (void)c.sm.transition(WorkerChildState::ended, "stopped");
  }
}

std::optional<SupervisorOutcome> Supervisor::worker_ended(Child& c) {
  const int st = c.slot.launcher->exit_status();
  const std::string status = c.slot.status->read();
  const bool own = static_cast<pid_t>(status_number(status, "pid")) == c.pid;
  WorkerEnd we;
  we.exit_status = st;
  we.chaos = c.chaos_killed;
  we.ran = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - c.started);
  if (own) {
    we.failure = status_string(status, "failure");
    we.transient = status_number(status, "failure_transient") > 0;
    we.position = static_cast<int64_t>(status_number(status, "committed_offsets"));
    last_cp_seen_ =
        std::max(last_cp_seen_, static_cast<int64_t>(status_number(status, "last_checkpoint")));
  }
  Decision d = decide(o_.policy, c.history, we);
  if (d.kind == Decision::Kind::stop) {
    WorkerEndReport r{c.pid, st, we.failure, st == 0 ? "" : c.slot.launcher->log_tail(5), false};
    (void)c.sm.transition(WorkerChildState::ended, describe_exit(st));
    if (st == 0) {
      // N > 1: a worker stops on its own when its topology was killed (`sleet kill`); the others
      // follow. The run ends once none is left.
      for (auto& o : children_)
        if (o.sm.state() != WorkerChildState::ended) {
          events_.worker_ended(r);
          return std::nullopt;
        }
      SupervisorOutcome out;
      if (o_.until_drained) {
        // Stopped by someone else: the input is not drained, so this is no success.
        r.before_drain = true;
        events_.worker_ended(r);
        return end(SupervisorState::failed, "worker stopped before the input was drained", {});
      }
      events_.worker_ended(r);
      out.policy_exit_code = d.exit_code;
      return end(SupervisorState::done, describe_exit(st) + ", not restarted", std::move(out));
    }
    events_.worker_ended(r);
    stop_all(false);
    SupervisorOutcome out;
    out.policy_exit_code = d.exit_code;
    return end(SupervisorState::failed, describe_exit(st) + ", not restarted", std::move(out));
  }
  if (d.kind == Decision::Kind::give_up) {
    events_.giving_up(d.reason, c.slot.launcher->log_tail(5));
    (void)c.sm.transition(WorkerChildState::ended, "policy: give up");
    stop_all(false);
    SupervisorOutcome out;
    out.policy_exit_code = d.exit_code;
    return end(SupervisorState::gave_up, d.reason, std::move(out));
  }
  std::string why = describe_exit(st);
  if (!we.failure.empty())
    why += ": " + we.failure;
  else if (st != 128 + SIGKILL)
    why += ": " + c.slot.launcher->log_tail(1);
  if (Status s = c.sm.transition(WorkerChildState::backing_off, describe_exit(st)); !s.ok())
    return broke(s);
  if (sm_.state() != SupervisorState::backing_off)
    if (Status s = go(SupervisorState::backing_off, describe_exit(st)); !s.ok()) return broke(s);
  // The checkpoint it resumes from is ZooKeeper's latest, which can be newer than the last one
  // the dead worker's status file showed: the new worker's status says which.
  events_.restarting(c.pid, why, d.backoff, last_cp_seen_);
  c.slot.launcher->restarted(why);
  c.restart_at = clock_.now() + d.backoff;
  return std::nullopt;
}

SupervisorOutcome Supervisor::run() {
  t0_ = clock_.now();
  chaos_at_ = next_chaos();
  abort_shown_at_ = t0_ - 1h;
  last_abort_check_ = t0_;
  last_live_ = t0_ - 1h;
  if (children_.empty()) return broke(Status::Invalid("no worker to supervise"));
  for (auto& c : children_)
    if (Status s = start_worker(c); !s.ok()) return broke(s);
  events_.worker_started(children_[0].pid);
  if (Status s = go(SupervisorState::running, "worker pid " + std::to_string(children_[0].pid));
      !s.ok())
    return broke(s);

  auto backing_off = [this] {
    for (auto& c : children_)
      if (c.sm.state() == WorkerChildState::backing_off) return true;
    return false;
  };
  while (true) {
    const int sig = pending_signal_();
    // A signal during a backoff first restarts the waiting workers (below), as it always did.
    if (sig != 0 && !backing_off()) {
      events_.stopping_on_signal(sig);
      if (Status s = go(SupervisorState::stopping, "signal " + std::to_string(sig)); !s.ok())
        return broke(s);
      stop_all(false);
      // Without --until-drained a signal is the normal way to end a run. With it, the run did
      // not finish what it was asked to, and whatever it wrote is partial.
      SupervisorOutcome out;
      out.signal = sig;
      return end(o_.until_drained ? SupervisorState::interrupted : SupervisorState::done,
                 "worker stopped", std::move(out));
    }
    if (zk_ && !zk_->running()) {
      // The embedded ZooKeeper is our child like the worker: restart it on its data dir (same
      // port), so the worker reconnects and resumes from the checkpoints it holds.
      events_.zookeeper_died(zk_->pid(), zk_->dir(), zk_->port());
      if (Status rs = zk_->restart(); !rs.ok())
        return broke(Status::Unavailable("cannot restart ZooKeeper: " + rs.message()),
                     "see " + zk_->log_path());
      ++zk_restarts_;
      events_.zookeeper_restarted(zk_->pid(), zk_restarts_);
    }
    if (input_.done() && !input_.status().ok()) return broke(input_.status());
    check_drops();
    if (o_.until_drained && input_.done()) {
      if (sm_.state() == SupervisorState::running)
        if (Status s = go(SupervisorState::draining,
                          "all " + std::to_string(input_.loaded()) + " records loaded");
            !s.ok())
          return broke(s);
      // Done when the last committed checkpoint has every spout at the end of its input,
      // reaches the end offsets read after loading finished, and is visible.
      int64_t cp = 0;
      if (drained(&cp)) {
        events_.drained(cp, input_.loaded());
        if (Status s = go(SupervisorState::stopping, "drained at checkpoint " + std::to_string(cp));
            !s.ok())
          return broke(s);
        stop_all(true);
        return end(SupervisorState::done, "worker stopped", {});
      }
    }
    for (auto& c : children_)
      if (c.sm.state() == WorkerChildState::up && !c.slot.launcher->running())
        if (auto out = worker_ended(c)) return std::move(*out);
    bool restarted = false;
    for (auto& c : children_) {
      if (c.sm.state() != WorkerChildState::backing_off) continue;
      if (clock_.now() < c.restart_at && pending_signal_() == 0) continue;
      if (Status s = go(SupervisorState::restarting, "backoff over"); !s.ok()) return broke(s);
      if (Status s = start_worker(c); !s.ok()) return broke(s);
      c.chaos_killed = false;
      c.aborts_seen = 0;
      c.announce_resume = true;
      ++restarts_;
      ++c.restarts;
      restarted = true;
      if (o_.chaos_delay) chaos_at_ = next_chaos();
      const bool others_wait = backing_off();
      if (Status s = go(others_wait ? SupervisorState::backing_off : SupervisorState::running,
                        "worker pid " + std::to_string(c.pid));
          !s.ok())
        return broke(s);
    }
    if (restarted) continue;
    for (auto& c : children_) {
      if (!c.announce_resume || c.sm.state() != WorkerChildState::up) continue;
      if (std::string st = own_status(c); !st.empty()) {
        c.announce_resume = false;
        events_.worker_resumed(c.pid, static_cast<int64_t>(status_number(st, "restored_from")));
      }
    }
    if (o_.chaos_delay && clock_.now() >= chaos_at_) {
      std::vector<Child*> up;
      for (auto& c : children_)
        if (c.sm.state() == WorkerChildState::up) up.push_back(&c);
      if (!up.empty()) {
        size_t i = o_.chaos_pick ? o_.chaos_pick(up.size()) : chaos_next_++;
        Child& c = *up[i % up.size()];
        events_.chaos_kill(c.pid);
        c.slot.launcher->kill();
        c.chaos_killed = true;
        ++chaos_kills_;
        chaos_at_ = next_chaos();
        continue;
      }
    }
    auto now = clock_.now();
    if (now - last_abort_check_ >= o_.abort_check_interval) {
      last_abort_check_ = now;
      for (auto& c : children_)
        if (c.sm.state() == WorkerChildState::up)
          if (std::string st = own_status(c); !st.empty()) report_aborts(c, st);
    }
    if (now - last_live_ >= o_.live_interval) {
      last_live_ = now;
      LiveStatus l;
      l.status = leader_status();
      l.workers = workers();
      if (l.status.empty())  // no leader yet: the first worker that has said anything
        for (auto& w : l.workers)
          if (!w.status.empty()) {
            l.status = w.status;
            break;
          }
      if (!l.status.empty()) {
        int64_t cp = static_cast<int64_t>(status_number(l.status, "last_checkpoint"));
        if (cp > last_cp_seen_) last_cp_seen_ = cp;
        l.elapsed_s = std::chrono::duration<double>(now - t0_).count();
        l.loaded = input_.loaded();
        for (auto& c : children_) l.aborts_seen = std::max(l.aborts_seen, c.aborts_seen);
        l.restarts = restarts_;
        l.zk_restarts = zk_restarts_;
        l.lost_total = lost_total_;
        events_.live(l);
      }
    }
    clock_.sleep_for(o_.tick);
  }
}

}  // namespace sleet::cluster
