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

// Debug level: each transition also has its own console message (SupervisorEvents), and the
// console of `sleet run` stays as it was.
Supervisor::Supervisor(SupervisorOptions options, WorkerLauncher& workers,
                       ZooKeeperChild* zookeeper, InputFeed& input, StatusSource& status,
                       SupervisorClock& clock, std::function<int()> pending_signal,
                       SupervisorEvents& events)
    : o_(std::move(options)),
      workers_(workers),
      zk_(zookeeper),
      input_(input),
      status_(status),
      clock_(clock),
      pending_signal_(std::move(pending_signal)),
      events_(events),
      sm_("supervisor", SupervisorState::starting, kSupervisorTransitions, supervisor_state_name,
          spdlog::level::debug) {}

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
  SupervisorOutcome out;
  out.status = std::move(why);
  out.hint = std::move(hint);
  return end(SupervisorState::failed, out.status.message(), std::move(out));
}

SupervisorClock::time_point Supervisor::next_chaos() {
  return o_.chaos_delay ? clock_.now() + o_.chaos_delay() : SupervisorClock::time_point::max();
}

Status Supervisor::start_worker() {
  auto p = workers_.start();
  if (!p.ok()) return Status::IoError("cannot start a worker: " + p.status().message());
  pid_ = *p;
  worker_started_ = clock_.now();
  return Status::Ok();
}

void Supervisor::check_drops() {
  auto starts = input_.log_starts();
  if (starts.empty()) return;
  for (auto& d : losses(starts, parse_positions(status_.read()), o_.spout_topics)) {
    std::string tp = d.topic + ":" + std::to_string(d.partition);
    if (reported_lost_[tp] >= d.lost) continue;
    lost_total_ += d.lost - reported_lost_[tp];
    reported_lost_[tp] = d.lost;
    events_.dropped(d);
  }
}

// When the current worker's aborted-checkpoint count grew: the count and the reason (a timeout
// naming the tasks that did not ack, a blob write error such as a full checkpoint.dir). The same
// reason again is reported at most every abort_repeat_interval.
void Supervisor::report_aborts(const std::string& status) {
  int64_t n = static_cast<int64_t>(status_number(status, "aborted"));
  if (n <= aborts_seen_) return;
  aborts_seen_ = n;
  std::string why = status_string(status, "last_abort_reason");
  if (why == abort_reason_shown_ && clock_.now() - abort_shown_at_ < o_.abort_repeat_interval)
    return;
  abort_reason_shown_ = why;
  abort_shown_at_ = clock_.now();
  events_.checkpoint_aborted(n, why);
}

SupervisorOutcome Supervisor::run() {
  t0_ = clock_.now();
  chaos_at_ = next_chaos();
  abort_shown_at_ = t0_ - 1h;
  last_abort_check_ = t0_;
  last_live_ = t0_ - 1h;
  if (Status s = start_worker(); !s.ok()) return broke(s);
  events_.worker_started(pid_);
  if (Status s = go(SupervisorState::running, "worker pid " + std::to_string(pid_)); !s.ok())
    return broke(s);

  std::string status;
  while (true) {
    if (int sig = pending_signal_(); sig != 0) {
      events_.stopping_on_signal(sig);
      if (Status s = go(SupervisorState::stopping, "signal " + std::to_string(sig)); !s.ok())
        return broke(s);
      events_.worker_stopped(workers_.stop(o_.stop_grace), false);
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
      // Done when the current worker's last committed checkpoint has every spout at the end of
      // its input, reaches the end offsets read after loading finished, and is visible.
      status = status_.read();
      int64_t cp = static_cast<int64_t>(status_number(status, "last_checkpoint"));
      if (is_drained({pid_, status, true, input_.final_ends()})) {
        events_.drained(cp, input_.loaded());
        if (Status s = go(SupervisorState::stopping, "drained at checkpoint " + std::to_string(cp));
            !s.ok())
          return broke(s);
        events_.worker_stopped(workers_.stop(o_.stop_grace), true);
        return end(SupervisorState::done, "worker stopped", {});
      }
    }
    if (!workers_.running()) {
      int st = workers_.exit_status();
      status = status_.read();
      const bool own = static_cast<pid_t>(status_number(status, "pid")) == pid_;
      WorkerEnd we;
      we.exit_status = st;
      we.chaos = chaos_killed_;
      we.ran =
          std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - worker_started_);
      if (own) {
        we.failure = status_string(status, "failure");
        we.transient = status_number(status, "failure_transient") > 0;
        we.position = static_cast<int64_t>(status_number(status, "committed_offsets"));
        last_cp_seen_ =
            std::max(last_cp_seen_, static_cast<int64_t>(status_number(status, "last_checkpoint")));
      }
      Decision d = decide(o_.policy, history_, we);
      if (d.kind == Decision::Kind::stop) {
        WorkerEndReport r{pid_, st, we.failure, st == 0 ? "" : workers_.log_tail(5), false};
        SupervisorOutcome out;
        if (st == 0 && o_.until_drained) {
          // Stopped by someone else: the input is not drained, so this is no success.
          r.before_drain = true;
          events_.worker_ended(r);
          return end(SupervisorState::failed, "worker stopped before the input was drained", {});
        }
        events_.worker_ended(r);
        out.policy_exit_code = d.exit_code;
        return end(st == 0 ? SupervisorState::done : SupervisorState::failed,
                   describe_exit(st) + ", not restarted", std::move(out));
      }
      if (d.kind == Decision::Kind::give_up) {
        events_.giving_up(d.reason, workers_.log_tail(5));
        SupervisorOutcome out;
        out.policy_exit_code = d.exit_code;
        return end(SupervisorState::gave_up, d.reason, std::move(out));
      }
      std::string why = describe_exit(st);
      if (!we.failure.empty())
        why += ": " + we.failure;
      else if (st != 128 + SIGKILL)
        why += ": " + workers_.log_tail(1);
      if (Status s = go(SupervisorState::backing_off, describe_exit(st)); !s.ok()) return broke(s);
      // The checkpoint it resumes from is ZooKeeper's latest, which can be newer than the last
      // one the dead worker's status file showed: the new worker's status says which.
      events_.restarting(pid_, why, d.backoff, last_cp_seen_);
      // A signal cuts the wait short; the loop then stops the new worker at once.
      for (auto until = clock_.now() + d.backoff; clock_.now() < until && pending_signal_() == 0;)
        clock_.sleep_for(o_.tick);
      if (Status s = go(SupervisorState::restarting, "backoff over"); !s.ok()) return broke(s);
      if (Status s = start_worker(); !s.ok()) return broke(s);
      chaos_killed_ = false;
      aborts_seen_ = 0;
      announce_resume_ = true;
      ++restarts_;
      if (o_.chaos_delay) chaos_at_ = next_chaos();
      if (Status s = go(SupervisorState::running, "worker pid " + std::to_string(pid_)); !s.ok())
        return broke(s);
      continue;
    }
    if (announce_resume_) {
      status = status_.read();
      if (static_cast<pid_t>(status_number(status, "pid")) == pid_) {
        announce_resume_ = false;
        events_.worker_resumed(pid_, static_cast<int64_t>(status_number(status, "restored_from")));
      }
    }
    if (o_.chaos_delay && clock_.now() >= chaos_at_) {
      events_.chaos_kill(pid_);
      workers_.kill();
      chaos_killed_ = true;
      ++chaos_kills_;
      chaos_at_ = next_chaos();
      continue;
    }
    auto now = clock_.now();
    if (now - last_abort_check_ >= o_.abort_check_interval) {
      last_abort_check_ = now;
      status = status_.read();
      if (static_cast<pid_t>(status_number(status, "pid")) == pid_) report_aborts(status);
    }
    if (now - last_live_ >= o_.live_interval) {
      last_live_ = now;
      status = status_.read();
      if (!status.empty()) {
        int64_t cp = static_cast<int64_t>(status_number(status, "last_checkpoint"));
        if (cp > last_cp_seen_) last_cp_seen_ = cp;
        LiveStatus l;
        l.elapsed_s = std::chrono::duration<double>(now - t0_).count();
        l.status = status;
        l.loaded = input_.loaded();
        l.aborts_seen = aborts_seen_;
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
