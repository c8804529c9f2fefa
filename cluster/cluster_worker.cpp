#include "cluster/cluster_worker.hpp"

#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include "checkpointing/checkpoint_store.hpp"
#include "checkpointing/coordinator.hpp"
#include "checkpointing/snapshot_store.hpp"
#include "cluster/cluster_plan.hpp"
#include "cluster/dead_letter_sink.hpp"
#include "cluster/lease.hpp"
#include "cluster/metrics.hpp"
#include "cluster/metrics_server.hpp"
#include "cluster/progress.hpp"
#include "cluster/transport.hpp"
#include "coordination/election.hpp"
#include "coordination/membership.hpp"
#include "coordination/zk_client.hpp"
#include "core/kill_point.hpp"
#include "runtime/engine.hpp"

namespace sleet::cluster {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string hostname() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return host;
}

// "host:port" -> parts; invalid_argument naming the flag otherwise.
Result<std::pair<std::string, uint16_t>> split_address(const std::string& a) {
  auto colon = a.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Status::Invalid("--advertise '" + a + "' is not HOST:PORT");
  int port = std::atoi(a.c_str() + colon + 1);
  if (port < 0 || port > 65535) return Status::Invalid("--advertise '" + a + "': bad port");
  return std::make_pair(a.substr(0, colon), static_cast<uint16_t>(port));
}

// Sends every ack of a task here to the coordinator's worker (non-leaders). Task fibers call it;
// send_control only enqueues.
class AckForwarder : public SnapshotListener {
 public:
  AckForwarder(Transport& t, int coordinator) : t_(t), coordinator_(coordinator) {}
  void on_task_snapshot(TaskSnapshotData&& d) override {
    ControlMessage m;
    m.kind = ControlMessage::Kind::ack;
    m.id = d.id;
    m.snapshot = std::move(d);
    t_.send_control(coordinator_, std::move(m));
  }

 private:
  Transport& t_;
  int coordinator_;
};

// What the leader's coordinator drives: the local engine plus every other worker of the
// generation, over the control connections.
class ClusterTarget : public CheckpointTarget {
 public:
  ClusterTarget(Engine& e, Transport& t, int self, int workers, std::vector<std::string> names)
      : e_(e), t_(t), self_(self), workers_(workers), names_(std::move(names)) {}
  void trigger_checkpoint(CheckpointId id) override {
    e_.trigger_checkpoint(id);
    broadcast(ControlMessage::Kind::trigger, id);
  }
  void checkpoint_committed(CheckpointId id) override {
    e_.checkpoint_committed(id);
    broadcast(ControlMessage::Kind::committed, id);
  }
  size_t task_count() const override { return names_.size(); }
  std::vector<std::string> task_names() const override { return names_; }

 private:
  void broadcast(ControlMessage::Kind k, CheckpointId id) {
    for (int w = 0; w < workers_; ++w) {
      if (w == self_) continue;
      ControlMessage m;
      m.kind = k;
      m.id = id;
      t_.send_control(w, std::move(m));
    }
  }
  Engine& e_;
  Transport& t_;
  int self_, workers_;
  std::vector<std::string> names_;
};

// Ids of the components whose instances keep state (Component::stateful()), in spec order, for
// the manifest: the engine here instantiates only this worker's share of the dead-letter sinks,
// and a stateful component may have no task here at all.
Result<std::vector<std::string>> stateful_components_of(const TopologySpec& spec,
                                                        const Registry& registry) {
  std::vector<std::string> out;
  for (const auto& c : spec.components) {
    auto comp = registry.create(c.class_name, c.args);
    if (!comp.ok()) return comp.status().with_context("component '" + c.id + "'");
    if ((*comp)->stateful()) out.push_back(c.id);
  }
  return out;
}

}  // namespace

// One generation as this worker runs it. Created and destroyed by the controlling thread; the
// io thread reaches it only through Impl::live (under run_mu).
struct GenerationRun {
  ClusterAssignment assignment;
  int self = -1;
  bool coordinator = false;  // this worker runs the coordinator of the generation
  bool started = false;      // mesh complete, engine running
  Clock::time_point began{};
  RestorePlan plan;
  std::unique_ptr<SnapshotWriter> writer;
  std::unique_ptr<Coordinator> coord;
  std::unique_ptr<AckForwarder> forwarder;
  std::unique_ptr<ClusterTarget> target;
  std::unique_ptr<Engine> engine;
  // Control messages that arrived before the engine started (a fast coordinator).
  CheckpointId early_trigger{0}, early_committed{0};
  CheckpointId committed_seen{0};  // highest "committed" received (io thread, under run_mu)
  // Leader: the visible checkpoint each worker last reported (its own included).
  std::map<int, CheckpointId> visible;
  CheckpointId reported_visible{0};  // non-leader: last visible sent
  std::string failure;               // a peer's reported task failure (leader)
};

struct ClusterWorker::Impl {
  const TopologySpec& spec;
  const Registry& registry;
  const WorkerOptions& options;
  const WorkerConfig& cfg;
  const std::atomic<bool>& stop;

  std::unique_ptr<zk::Client> zk;
  std::unique_ptr<CheckpointStore> store;
  std::unique_ptr<SnapshotStore> snapshots;
  std::unique_ptr<CursorStore> cursors;
  std::unique_ptr<Lease> lease;  // the gate of every side effect ZooKeeper cannot fence
  std::unique_ptr<Transport> transport;
  std::unique_ptr<zk::Membership> membership;  // controlling thread: this worker's node
  std::unique_ptr<zk::Membership> watcher;     // leader thread: reads the live workers
  std::unique_ptr<zk::Election> election;
  PhysicalPlan shape;  // the plan every worker computes (chains, task names)
  PlacementTopology placement;
  std::string self_id;
  int slots = 0;

  std::mutex run_mu;  // guards `live` and the fields of *live the io thread touches
  GenerationRun* live = nullptr;
  std::unique_ptr<GenerationRun> run;
  std::atomic<bool> link_failed{false};
  std::string link_failure;  // guarded by run_mu

  // A rollback asked for and not yet written (ZooKeeper unreachable): retried until written or a
  // newer generation arrives. Controlling thread only.
  std::optional<std::pair<int32_t, std::string>> rollback_pending;
  Clock::time_point rollback_next_try{};

  std::thread leader_thread;
  std::atomic<bool> leader_stop{false};
  std::atomic<bool> leader_done{false};  // lead() returned
  bool abandoned = false;                // the leader thread was left in a ZooKeeper call
  std::atomic<bool> leading{false};
  std::function<void()> on_joined;
  // metrics.enabled: this worker's figures and their server (declared after `run`, so the server
  // stops before the engine goes; it only reads strings). Controlling thread.
  std::unique_ptr<WorkerMetrics> metrics;
  std::unique_ptr<MetricsServer> metrics_server;

  Impl(const TopologySpec& s, const Registry& r, const WorkerOptions& o, const WorkerConfig& c,
       const std::atomic<bool>& st)
      : spec(s), registry(r), options(o), cfg(c), stop(st) {}

  Status join();
  void lead();
  Status claim(Generation& gen, ClusterAssignment& previous);
  void on_control(int from, ControlMessage&& m);
  Status begin(const ClusterAssignment& a);
  Status try_start();
  void teardown(const std::string& why);
  void request_rollback(const std::string& reason);
  void write_rollback();
  WorkerProgress progress(Clock::time_point now, ProgressMeter& meter);
  CheckpointId cluster_visible();
  CheckpointId local_visible();  // run must be started
};

ClusterWorker::ClusterWorker(const TopologySpec& spec, const Registry& registry,
                             const WorkerOptions& options, const WorkerConfig& config,
                             const std::atomic<bool>& stop, std::function<void()> on_joined)
    : impl_(std::make_unique<Impl>(spec, registry, options, config, stop)) {
  impl_->on_joined = std::move(on_joined);
}

ClusterWorker::~ClusterWorker() {
  if (impl_->abandoned) {
    // The detached leader thread may still use it; the process ends at once (Worker::
    // abandoned_tasks), so it is left, not destroyed.
    (void)impl_.release();
    return;
  }
  impl_->leader_stop = true;
  if (impl_->leader_thread.joinable()) impl_->leader_thread.join();
}

bool ClusterWorker::abandoned() const {
  return impl_->abandoned;
}

// Membership, with one takeover: a node of our own id whose process, on this host, is dead (a
// SIGKILLed worker restarted by its supervisor before its session expired) is removed, with the
// election candidates it left, instead of waiting out the session timeout. Its tasks then move
// (or stay with us) in the next generation; the dead process can no longer touch anything.
Status ClusterWorker::Impl::join() {
  Status st = membership->join();
  if (st.code() != Code::already_exists) return st;
  auto data = zk->get(membership->node_path());
  if (!data.ok()) return st;
  auto other = zk::decode_worker_info(self_id, *data);
  if (!other.ok() || other->host != hostname() || other->pid == getpid() ||
      ::kill(static_cast<pid_t>(other->pid), 0) == 0 || errno != ESRCH)
    return st;
  spdlog::warn("worker '{}': taking over from its dead previous process (pid {})", self_id,
               other->pid);
  const std::string edir = store->topology_path() + "/election";
  if (auto kids = zk->children(edir); kids.ok())
    for (const auto& k : *kids)
      if (auto owner = zk->get(edir + "/" + k); owner.ok() && *owner == self_id)
        (void)zk->remove(edir + "/" + k);
  (void)zk->remove(membership->node_path());
  return membership->join();
}

Status ClusterWorker::run() {
  Impl& m = *impl_;
  const WorkerConfig& cfg = m.cfg;
  if (!cfg.checkpoint_enabled)
    return Status::Invalid(
        "cluster mode needs checkpointing (checkpoint.enabled: true): a "
        "rollback restores every task from the last committed checkpoint");
  if (cfg.zookeeper_connect.empty())
    return Status::Invalid("cluster mode needs zookeeper.connect (or --zookeeper)");
  m.self_id = m.options.cluster.id.empty() ? hostname() + "-" + std::to_string(getpid())
                                           : m.options.cluster.id;
  auto adv = split_address(m.options.cluster.advertise.empty() ? "127.0.0.1:0"
                                                               : m.options.cluster.advertise);
  if (!adv.ok()) return adv.status();

  auto planned = plan_physical(m.spec, PlanOptions{cfg.worker_chaining, 1, {}});
  if (!planned.ok()) return planned.status();
  m.shape = std::move(planned).value();
  m.placement = placement_topology(m.spec, m.shape);
  auto units = placement_units(m.placement);
  if (!units.ok()) return units.status();
  m.slots = m.options.cluster.slots > 0 ? m.options.cluster.slots : static_cast<int>(units->size());

  zk::Options zo;
  zo.connect = cfg.zookeeper_connect;
  zo.session_timeout = cfg.zookeeper_session_timeout;
  auto c = zk::Client::connect(zo, 20s);
  if (!c.ok()) return c.status().with_context("connecting to ZooKeeper at " + zo.connect);
  m.zk = std::move(c).value();
  m.store = std::make_unique<CheckpointStore>(*m.zk, cfg.zookeeper_root, m.spec.name);
  SLEET_RETURN_IF_ERROR(m.store->init());
  std::filesystem::path dir = std::filesystem::path(cfg.checkpoint_dir) / m.spec.name;
  m.snapshots = std::make_unique<SnapshotStore>(*m.zk, m.store->blob_root(), dir,
                                                cfg.checkpoint_inline_bytes);
  m.cursors = m.store->cursor_store();
  m.lease = std::make_unique<Lease>(*m.zk);

  TransportOptions to;
  to.topology = m.spec.name;
  to.self_id = m.self_id;
  to.listen_host = adv->first;
  to.listen_port = adv->second;
  to.credits = cfg.worker_channel_capacity;  // = the engine's FIFO capacity (the transport's rule)
  to.flush = cfg.transport_flush;
  to.heartbeat_timeout = cfg.transport_heartbeat_timeout;
  to.heartbeat = std::max<std::chrono::milliseconds>(std::chrono::milliseconds(20),
                                                     cfg.transport_heartbeat_timeout / 12);
  auto t = Transport::start(to);
  if (!t.ok()) return t.status().with_context("starting the transport on " + adv->first);
  m.transport = std::move(t).value();
  m.transport->on_control(
      [&m](int from, ControlMessage&& msg) { m.on_control(from, std::move(msg)); });
  m.transport->on_failure([&m](const Status& s) {
    std::lock_guard lk(m.run_mu);
    if (m.link_failure.empty()) m.link_failure = s.to_string();
    m.link_failed = true;
  });

  zk::WorkerInfo self;
  self.id = m.self_id;
  self.address = adv->first + ":" + std::to_string(m.transport->port());
  self.slots = m.slots;
  self.pid = getpid();
  self.host = hostname();
  if (m.cfg.metrics_enabled) {
    SLEET_RETURN_IF_ERROR(start_metrics(m.spec, m.cfg, m.self_id, m.metrics, m.metrics_server));
    self.metrics = m.metrics_server->host_port();
  }
  m.membership =
      std::make_unique<zk::Membership>(*m.zk, m.store->topology_path() + "/workers", self);
  m.watcher = std::make_unique<zk::Membership>(*m.zk, m.store->topology_path() + "/workers", self);
  m.election =
      std::make_unique<zk::Election>(*m.zk, m.store->topology_path() + "/election", m.self_id);
  SLEET_RETURN_IF_ERROR(m.join().with_context("joining topology '" + m.spec.name + "'"));
  spdlog::info("{}: worker '{}' joined at {} ({} slots)", m.spec.name, m.self_id, self.address,
               m.slots);
  m.leader_thread = std::thread([&m] { m.lead(); });
  if (m.on_joined) m.on_joined();

  ProgressMeter meter(m.options.progress_interval, Clock::now());
  ProgressMeter status_meter(std::chrono::seconds(1), Clock::now());
  zk::Watch assignment_watch;
  int32_t seen_generation = -1;
  uint64_t session = m.zk->session_epoch();
  Status result;
  Clock::time_point next_join_try{};
  const std::string kill_path = m.store->topology_path() + "/kill";
  zk::Watch kill_watch;
  std::optional<std::string> kill;     // the kill cell's text once `sleet kill` asked
  int64_t kill_committed_before = -1;  // leader: commits counted when the kill was seen
  while (!m.stop.load()) {
    auto now = Clock::now();
    // `sleet kill`: the coordinator takes a final checkpoint; once it is visible on every worker
    // it writes final=<id>, and each worker stops (exit 0) as soon as its tasks show it visible.
    if (!kill_watch.armed() || kill_watch.fired()) {
      zk::Watch w;
      auto e = m.zk->exists(kill_path, w);
      if (e.ok()) {
        kill_watch = std::move(w);
        if (e->has_value()) {
          auto text = m.zk->get(kill_path);
          if (text.ok()) kill = *text;
        }
      }
    }
    // --until-drained (a worker started by hand): once the coordinator's committed checkpoint has
    // every spout at its end and is visible on every worker, the topology is done: it ends as a
    // `sleet kill` does (every worker stops, exit 0).
    if (m.options.until_drained && !kill && m.run && m.run->started && m.run->coord) {
      auto cs = m.run->coord->stats();
      if (cs.drained && cs.last_committed.value > 0 && m.cluster_visible() >= cs.last_committed) {
        std::string text = "final=" + std::to_string(cs.last_committed.value) + "\n";
        Status w = m.zk->create(kill_path, text);
        if (w.code() == Code::already_exists) w = m.zk->set(kill_path, text).status();
        if (w.ok()) {
          spdlog::info("{}: drained; checkpoint {} committed and visible on every worker",
                       m.spec.name, cs.last_committed.value);
          kill = text;
        }
      }
    }
    if (kill && m.run && m.run->started) {
      CheckpointId final_id{0};
      if (auto p = kill->find("final="); p != std::string::npos)
        final_id = CheckpointId{std::atoll(kill->c_str() + p + 6)};
      if (final_id.value > 0) {
        if (m.local_visible() >= final_id) {
          spdlog::info("{}: killed: final checkpoint {} is visible here; stopping", m.spec.name,
                       final_id.value);
          break;
        }
      } else if (m.run->coord) {
        auto cs = m.run->coord->stats();
        if (kill_committed_before < 0) {
          kill_committed_before = cs.committed;
          m.run->coord->trigger_now();
          spdlog::info("{}: kill requested: taking a final checkpoint", m.spec.name);
        } else if (cs.committed > kill_committed_before) {
          if (m.cluster_visible() >= cs.last_committed) {
            std::string text = "final=" + std::to_string(cs.last_committed.value) + "\n";
            if (m.zk->set(kill_path, text).ok()) kill = text;
          }
        }
      }
    }
    // A new session (the old one expired): our ephemeral nodes are gone and the leader may have
    // given our tasks away: stop them, rejoin, and wait for the next assignment.
    // An expired lease (the session expired or was replaced): this worker may have been given up
    // by the others already, so it stops its tasks, renews the lease for the new session and
    // rejoins; the assignment is read afresh (watches died with the session).
    if (m.zk->session_epoch() != session || m.lease->verdict().state == LeaseState::expired) {
      m.teardown("ZooKeeper session expired or replaced");
      if (m.lease->renew().ok()) {
        session = m.lease->granted_epoch();
        assignment_watch = zk::Watch();
        kill_watch = zk::Watch();
        seen_generation = -1;
        spdlog::warn("{}: new ZooKeeper session: rejoining", m.spec.name);
      }
    }
    if (m.rollback_pending && now >= m.rollback_next_try) m.write_rollback();
    if (!m.membership->joined() && now >= next_join_try) {
      if (Status j = m.join(); !j.ok())
        spdlog::warn("{}: rejoining: {}", m.spec.name, j.to_string());
      next_join_try = now + 500ms;
    }
    if (!assignment_watch.armed() || assignment_watch.fired()) {
      zk::Watch w;
      auto text = m.zk->get(m.store->assignment_path(), w);
      if (text.ok()) {
        assignment_watch = std::move(w);
        auto a = decode_assignment(*text);
        if (a.ok() && a->generation > seen_generation) {
          seen_generation = a->generation;
          m.rollback_pending.reset();
          m.teardown("generation " + std::to_string(a->generation) + " assigned");
          if (Status b = m.begin(*a); !b.ok()) {
            result = b;
            break;
          }
        } else if (!a.ok() && a.status().code() != Code::not_found) {
          spdlog::warn("{}: {}", m.spec.name, a.status().to_string());
        }
      }
    }
    if (m.run && !m.run->started) {
      Status s = m.try_start();
      if (!s.ok()) {
        if (s.code() == Code::incompatible || s.code() == Code::corruption ||
            s.code() == Code::invalid_argument) {
          result = s;
          break;
        }
        spdlog::warn("{}: generation {}: {}", m.spec.name, m.run->assignment.generation,
                     s.to_string());
        m.request_rollback(s.to_string());
        m.teardown("start failed");
      }
    }
    if (m.run && m.run->started) {
      std::string why;
      if (Status f = m.run->engine->failure(); !f.ok()) {
        if (f.code() == Code::invalid_argument) {  // a poison record under on_error: fail
          result = f;
          break;
        }
        why = f.to_string();
      } else if (m.run->coord && !m.run->coord->failure().ok()) {
        why = m.run->coord->failure().to_string();
      } else if (m.link_failed.load()) {
        std::lock_guard lk(m.run_mu);
        why = m.link_failure;
      }
      if (!why.empty()) {
        spdlog::warn("{}: generation {} failed: {}", m.spec.name, m.run->assignment.generation,
                     why);
        m.request_rollback(why);
        m.teardown("rolling back");
      } else if (!m.run->coordinator) {
        CheckpointId v = m.local_visible();
        if (v > m.run->reported_visible) {
          m.run->reported_visible = v;
          ControlMessage msg;
          msg.kind = ControlMessage::Kind::visible;
          msg.id = v;
          m.transport->send_control(m.run->assignment.index_of(m.run->assignment.coordinator),
                                    std::move(msg));
        }
      }
    }
    if (m.metrics && m.metrics->due(now) && m.run && m.run->started)
      m.metrics->refresh(*m.run->engine, m.run->coord.get(), now);
    if (meter.due(now) && m.options.on_progress) m.options.on_progress(m.progress(now, meter));
    // The metrics server's /api/status document, every second whatever the report interval
    // (and without a report callback), as the single-process worker does.
    if (m.metrics && status_meter.due(now)) (void)m.progress(now, status_meter);
    std::this_thread::sleep_for(m.run && !m.run->started ? 5ms : 20ms);
  }
  m.teardown(result.ok() ? "stopping" : "failed");
  if (m.options.on_progress) {
    WorkerProgress p = m.progress(Clock::now(), meter);
    if (!result.ok()) p.failure = result.to_string();
    m.options.on_progress(p);
  }
  // The leader thread may sit in a ZooKeeper call that gives up only after the request timeout
  // (ZooKeeper unreachable): a stop does not wait that long for it.
  m.leader_stop = true;
  auto leader_deadline = Clock::now() + 3s;
  while (!m.leader_done.load() && Clock::now() < leader_deadline) std::this_thread::sleep_for(5ms);
  if (m.leader_done.load()) {
    m.leader_thread.join();
  } else {
    spdlog::warn("{}: the leader thread is stuck in a ZooKeeper call; leaving it", m.spec.name);
    m.leader_thread.detach();
    m.abandoned = true;
  }
  // Ephemeral nodes go with the session anyway; removing them now only speeds up the others.
  if (m.zk->connected() && !m.abandoned) {
    (void)m.election->resign();
    (void)m.membership->leave();
  }
  return result;
}

// Called on the io thread for every control message of the current generation.
void ClusterWorker::Impl::on_control(int from, ControlMessage&& msg) {
  std::lock_guard lk(run_mu);
  GenerationRun* r = live;
  if (!r) return;
  switch (msg.kind) {
    case ControlMessage::Kind::trigger:
      if (r->started)
        r->engine->trigger_checkpoint(msg.id);
      else
        r->early_trigger = std::max(r->early_trigger, msg.id);
      break;
    case ControlMessage::Kind::committed:
      r->committed_seen = std::max(r->committed_seen, msg.id);
      if (r->started)
        r->engine->checkpoint_committed(msg.id);
      else
        r->early_committed = std::max(r->early_committed, msg.id);
      break;
    case ControlMessage::Kind::ack:
      if (r->coord) r->coord->on_task_snapshot(std::move(msg.snapshot));
      break;
    case ControlMessage::Kind::visible:
      r->visible[from] = std::max(r->visible[from], msg.id);
      break;
    case ControlMessage::Kind::failure:
      if (r->failure.empty()) r->failure = msg.reason;
      break;
  }
}

Status ClusterWorker::Impl::begin(const ClusterAssignment& a) {
  int self = a.index_of(self_id);
  if (self < 0) {
    spdlog::info("{}: generation {} gives worker '{}' nothing (not in the assignment yet)",
                 spec.name, a.generation, self_id);
    return Status::Ok();
  }
  auto r = std::make_unique<GenerationRun>();
  r->assignment = a;
  r->self = self;
  r->coordinator = a.coordinator == self_id;
  r->began = Clock::now();
  std::vector<Peer> peers;
  for (size_t i = 0; i < a.workers.size(); ++i) {
    auto hp = split_address(a.workers[i].address);
    if (!hp.ok()) return Status::Corruption("assignment: " + hp.status().message());
    peers.push_back(Peer{static_cast<int>(i), a.workers[i].id, hp->first, hp->second});
  }
  {
    std::lock_guard lk(run_mu);
    link_failed = false;
    link_failure.clear();
  }
  SLEET_RETURN_IF_ERROR(transport->begin_generation(Generation{a.generation}, self, peers));
  run = std::move(r);
  {
    std::lock_guard lk(run_mu);
    live = run.get();
  }
  spdlog::info("{}: generation {}: worker '{}' is #{} of {}{}", spec.name, a.generation, self_id,
               self, a.workers.size(), run->coordinator ? " and runs the coordinator" : "");
  return Status::Ok();
}

// Once every worker of the generation is connected (each has torn down the previous generation):
// restore this worker's tasks from the latest committed checkpoint and run them. unavailable
// while the mesh is not complete yet (called again); other errors end the generation.
Status ClusterWorker::Impl::try_start() {
  GenerationRun& r = *run;
  Status mesh = transport->await_mesh(Clock::now() + 50ms);
  if (!mesh.ok()) {
    if (mesh.code() == Code::timeout && Clock::now() - r.began < 10s) return Status::Ok();
    return mesh.with_context("connecting the workers of generation " +
                             std::to_string(r.assignment.generation));
  }
  kill_point("cluster.after_mesh");
  auto latest = store->load_latest();
  if (!latest.ok()) return latest.status().with_context("reading the latest checkpoint");
  if (latest->has_value()) {
    auto p = plan_recovery(**latest, spec, *snapshots, store->topology_path());
    if (!p.ok()) return p.status();
    r.plan = std::move(p).value();
  }
  const Generation gen{r.assignment.generation};
  EngineOptions eo;
  apply_worker_config(cfg, options.threads, eo);  // checkpointing is on (run() checked)
  eo.cursors = cursors.get();
  eo.side_effects = lease.get();
  eo.generation = gen;
  if (latest->has_value()) eo.restored_generation = Generation{(**latest).generation};
  r.writer = std::make_unique<GenerationSnapshotWriter>(*snapshots, gen, lease.get());
  eo.snapshots = r.writer.get();
  auto where = worker_of_tasks(spec, shape, r.assignment);
  if (!where.ok()) return where.status();
  eo.placement.self = r.self;
  eo.placement.worker_of = std::move(where).value();
  eo.remote = transport.get();
  const int coordinator_index = r.assignment.index_of(r.assignment.coordinator);
  if (r.coordinator) {
    CoordinatorOptions co;
    co.interval = cfg.checkpoint_interval;
    co.timeout = cfg.checkpoint_timeout;
    r.coord = std::make_unique<Coordinator>(*store, *snapshots, co);
    eo.listener = r.coord.get();
  } else {
    if (coordinator_index < 0)
      return Status::Corruption("the assignment of generation " + std::to_string(gen.value) +
                                " names no coordinator");
    r.forwarder = std::make_unique<AckForwarder>(*transport, coordinator_index);
    eo.listener = r.forwarder.get();
  }
  auto created = Engine::create(spec, registry, eo);
  if (!created.ok()) return created.status();
  r.engine = std::move(created).value();
  SLEET_RETURN_IF_ERROR(r.engine->start(r.plan));
  if (r.coordinator) {
    r.target = std::make_unique<ClusterTarget>(*r.engine, *transport, r.self,
                                               static_cast<int>(r.assignment.workers.size()),
                                               cluster_task_names(spec, shape));
    // Every worker's stateful components, not just this one's: the manifest lists them all.
    auto stateful = stateful_components_of(spec, registry);
    if (!stateful.ok()) return stateful.status();
    Manifest base = manifest_base(spec, *stateful);
    base.generation = gen.value;
    base.positions = task_positions(r.plan);
    r.coord->start(*r.target, gen, r.plan.id, std::move(base));
  }
  {
    std::lock_guard lk(run_mu);
    r.started = true;
    if (r.early_trigger.value > 0) r.engine->trigger_checkpoint(r.early_trigger);
    if (r.early_committed.value > 0) r.engine->checkpoint_committed(r.early_committed);
  }
  spdlog::info(
      "{}: generation {} running: {} local tasks{}", spec.name, gen.value, r.engine->task_count(),
      r.plan.id.value > 0 ? ", from checkpoint " + std::to_string(r.plan.id.value) : ", fresh");
  return Status::Ok();
}

// Ends this worker's part of the current generation: no control message reaches it any more,
// the coordinator stops (an in-flight checkpoint is never committed), every task stops where it
// is, and the connections close. Nothing of it is finished: the next generation replays from the
// last commit.
void ClusterWorker::Impl::teardown(const std::string& why) {
  if (!run) return;
  {
    std::lock_guard lk(run_mu);
    live = nullptr;
  }
  if (run->coord) run->coord->stop();
  if (run->engine) run->engine->abort();
  transport->end_generation();
  if (run->engine) {
    Status s = run->engine->wait();
    if (!s.ok())
      spdlog::info("{}: generation {} ended: {}", spec.name, run->assignment.generation,
                   s.to_string());
  }
  spdlog::info("{}: generation {} torn down ({})", spec.name, run->assignment.generation, why);
  run.reset();
}

// Asks the coordinator for a new generation (any worker; the leader thread watches the cell).
void ClusterWorker::Impl::request_rollback(const std::string& reason) {
  if (!run) return;
  rollback_pending.emplace(run->assignment.generation, reason.substr(0, 2000));
  write_rollback();
}

void ClusterWorker::Impl::write_rollback() {
  std::string text = "generation=" + std::to_string(rollback_pending->first) +
                     "\nworker=" + self_id + "\nreason=" + rollback_pending->second + "\n";
  if (Status s = zk->set(store->rollback_path(), text).status(); !s.ok()) {
    spdlog::warn("{}: asking for a rollback (again in 1 s): {}", spec.name, s.to_string());
    rollback_next_try = Clock::now() + 1s;
    return;
  }
  rollback_pending.reset();
}

// The leader thread: waits for leadership, then claims a generation whenever the live workers
// change or a worker asks for a rollback of the current one.
void ClusterWorker::Impl::lead() {
  struct Done {
    std::atomic<bool>& done;
    ~Done() { done = true; }
  } mark{leader_done};
  while (!leader_stop.load()) {
    auto r = election->check();
    if (!r.ok() || !*r) {
      leading = false;
      (void)election->wait_for_leadership(Clock::now() + 200ms);
      continue;
    }
    leading = true;
    spdlog::info("{}: worker '{}' leads", spec.name, self_id);
    auto g = store->current_generation();
    if (!g.ok()) continue;
    Generation gen = *g;
    ClusterAssignment previous;
    if (auto text = zk->get(store->assignment_path()); text.ok())
      if (auto a = decode_assignment(*text); a.ok()) previous = std::move(a).value();
    bool need = true;  // a new leader always claims: the old coordinator is fenced from now on
    zk::Watch members, rollback;
    Clock::time_point last_claim{};
    while (!leader_stop.load() && election->is_leader()) {
      if (members.fired()) need = true;
      if (rollback.fired() || !rollback.armed()) {
        zk::Watch w;
        auto text = zk->get(store->rollback_path(), w);
        if (text.ok()) {
          rollback = std::move(w);
          auto p = text->find("generation=");
          if (p != std::string::npos && std::atoi(text->c_str() + p + 11) == gen.value) need = true;
        }
      }
      if (need && Clock::now() - last_claim >= 200ms) {
        last_claim = Clock::now();
        Status s = claim(gen, previous);
        if (s.ok()) {
          need = false;
          // Re-arm on the membership we assigned: a change since then claims again.
          zk::Watch w;
          if (watcher->live(&w).ok()) members = std::move(w);
        } else {
          spdlog::warn("{}: claiming a generation: {}", spec.name, s.to_string());
          if (s.code() == Code::fenced) {
            if (auto cur = store->current_generation(); cur.ok()) gen = *cur;
            if (auto text = zk->get(store->assignment_path()); text.ok())
              if (auto a = decode_assignment(*text); a.ok()) previous = std::move(a).value();
            (void)election->check();
          }
        }
      }
      std::this_thread::sleep_for(20ms);
    }
    leading = false;
  }
}

// One claim: the live workers, the assignment (sticky, rebalanced onto joiners), written with
// generation gen+1 in one fenced multi.
Status ClusterWorker::Impl::claim(Generation& gen, ClusterAssignment& previous) {
  auto live_workers = watcher->live();
  if (!live_workers.ok()) return live_workers.status();
  std::vector<WorkerSlots> ws;
  ClusterAssignment next;
  next.generation = gen.value + 1;
  next.coordinator = self_id;
  for (const auto& w : *live_workers) {
    ws.push_back(WorkerSlots{w.id, w.slots});
    next.workers.push_back(AssignedWorker{w.id, w.address, w.slots});
  }
  if (next.index_of(self_id) < 0) return Status::Unavailable("this worker is not live yet");
  auto a = assign(placement, ws, rebalanced(placement, ws, previous.tasks));
  if (!a.ok()) return a.status();
  next.tasks = std::move(a).value();
  kill_point("cluster.before_claim");
  auto claimed = store->claim_generation(gen, encode_assignment(next));
  if (!claimed.ok()) return claimed.status();
  gen = *claimed;
  previous = std::move(next);
  spdlog::info("{}: claimed generation {} for {} workers", spec.name, gen.value,
               previous.workers.size());
  return Status::Ok();
}

// The highest checkpoint this worker's tasks have all made visible; a worker without tasks has
// nothing to make visible, so every commit it heard of counts.
CheckpointId ClusterWorker::Impl::local_visible() {
  if (run->engine->task_count() > 0) return run->engine->visible_checkpoint();
  std::lock_guard lk(run_mu);
  return std::max(run->committed_seen, run->plan.id);
}

// Leader: the lowest checkpoint every worker of the generation has made visible (its own engine's
// figure, the others' last `visible` messages; 0 for a worker not heard from yet).
CheckpointId ClusterWorker::Impl::cluster_visible() {
  if (!run || !run->started) return CheckpointId{0};
  CheckpointId v = local_visible();
  std::lock_guard lk(run_mu);
  for (int w = 0; w < static_cast<int>(run->assignment.workers.size()); ++w) {
    if (w == run->self) continue;
    auto it = run->visible.find(w);
    v = std::min(v, it == run->visible.end() ? CheckpointId{0} : it->second);
  }
  return v;
}

WorkerProgress ClusterWorker::Impl::progress(Clock::time_point now, ProgressMeter& meter) {
  WorkerProgress p;
  p.worker_id = self_id;
  p.leader = run && run->coordinator;  // the status with the checkpoint figures
  if (run && run->started) {
    add_engine_figures(spec, *run->engine, p);
    p.local_tasks = static_cast<int64_t>(run->engine->task_count());
    p.restored_from = run->plan.id.value;
    p.visible = local_visible().value;
    {
      // The last commit this worker heard of (the leader's figures below are the full ones).
      std::lock_guard lk(run_mu);
      p.last_checkpoint = std::max(run->committed_seen, run->plan.id).value;
    }
    if (run->coord) {
      add_coordinator_figures(*run->coord, *run->engine, now, p);
      p.visible = local_visible().value;
      p.cluster_visible = cluster_visible().value;
    }
  }
  p.generation = run ? run->assignment.generation : 0;
  auto ts = transport->stats();
  p.transport_bytes_sent = static_cast<int64_t>(ts.bytes_sent);
  p.transport_tuples_sent = static_cast<int64_t>(ts.tuples_sent);
  p.cluster_state = !run ? "waiting" : run->started ? "running" : "connecting";
  meter.finish(p, now);
  if (metrics) {
    p.metrics_json = metrics->json_fields();
    metrics->set_status(p.to_json());
  }
  return p;
}

}  // namespace sleet::cluster
