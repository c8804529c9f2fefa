#include "cluster/worker.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <thread>

#include "checkpointing/checkpoint_store.hpp"
#include "checkpointing/coordinator.hpp"
#include "checkpointing/snapshot_store.hpp"
#include "cluster/cluster_worker.hpp"
#include "cluster/dead_letter_sink.hpp"
#include "cluster/metrics.hpp"
#include "cluster/metrics_server.hpp"
#include "cluster/progress.hpp"
#include "cluster/stall_watchdog.hpp"
#include "coordination/zk_client.hpp"
#include "core/config.hpp"
#include "runtime/engine.hpp"

namespace sleet {

using namespace std::chrono_literals;

namespace {

class EngineTarget : public CheckpointTarget {
 public:
  explicit EngineTarget(Engine& e) : e_(e) {}
  void trigger_checkpoint(CheckpointId id) override { e_.trigger_checkpoint(id); }
  void checkpoint_committed(CheckpointId id) override { e_.checkpoint_committed(id); }
  size_t task_count() const override { return e_.task_count(); }
  std::vector<std::string> task_names() const override {
    std::vector<std::string> out;
    for (auto& ts : e_.stats()) out.push_back(ts.component + "[" + std::to_string(ts.task) + "]");
    return out;
  }

 private:
  Engine& e_;
};

std::string human_bytes(int64_t b) {
  char buf[32];
  if (b < 1024)
    snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(b));
  else if (b < 1024 * 1024)
    snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  else
    snprintf(buf, sizeof buf, "%.1f MiB", b / 1048576.0);
  return buf;
}

}  // namespace

std::string format_rate(double r) {
  char buf[32];
  if (r >= 1e6)
    snprintf(buf, sizeof buf, "%.2fM", r / 1e6);
  else if (r >= 1e3)
    snprintf(buf, sizeof buf, "%.1fk", r / 1e3);
  else
    snprintf(buf, sizeof buf, "%.0f", r);
  return buf;
}

double status_number(const std::string& json, const std::string& key, double def) {
  auto p = json.find("\"" + key + "\":");
  if (p == std::string::npos) return def;
  p += key.size() + 3;
  if (json.compare(p, 4, "true") == 0) return 1;
  if (json.compare(p, 5, "false") == 0) return 0;
  return std::strtod(json.c_str() + p, nullptr);
}

std::string WorkerProgress::to_line() const {
  std::string s = "in " + format_rate(in_rate) + "/s out " + format_rate(out_rate) +
                  "/s | total in " + std::to_string(records_in) + " out " +
                  std::to_string(records_out);
  if (skipped) s += " skipped " + std::to_string(skipped);
  if (last_checkpoint > 0) {
    char buf[160];
    snprintf(buf, sizeof buf, " | checkpoint %lld (%lld ms, %s) %.1fs ago, visible %lld",
             static_cast<long long>(last_checkpoint), static_cast<long long>(last_checkpoint_ms),
             human_bytes(last_checkpoint_bytes).c_str(), last_checkpoint_age_s,
             static_cast<long long>(visible));
    s += buf;
  } else if (!coordinator_state.empty()) {
    s += " | no checkpoint yet";
  }
  if (aborted) s += " | aborted " + std::to_string(aborted);
  if (drained) s += " | drained";
  return s;
}

std::string WorkerProgress::to_json() const {
  char buf[512];
  snprintf(
      buf, sizeof buf,
      "{\"pid\":%d,\"elapsed_s\":%.3f,\"records_in\":%lld,\"records_out\":%lld,\"skipped\":%lld,"
      "\"in_rate\":%.1f,\"out_rate\":%.1f,\"restored_from\":%lld,\"last_checkpoint\":%lld,"
      "\"last_checkpoint_ms\":%lld,\"last_checkpoint_bytes\":%lld,\"visible\":%lld,"
      "\"aborted\":%lld,\"drained\":%s,\"committed_offsets\":%lld,"
      "\"last_checkpoint_age_s\":%.2f}",
      static_cast<int>(getpid()), elapsed_s, static_cast<long long>(records_in),
      static_cast<long long>(records_out), static_cast<long long>(skipped), in_rate, out_rate,
      static_cast<long long>(restored_from), static_cast<long long>(last_checkpoint),
      static_cast<long long>(last_checkpoint_ms), static_cast<long long>(last_checkpoint_bytes),
      static_cast<long long>(visible), static_cast<long long>(aborted), drained ? "true" : "false",
      static_cast<long long>(committed_offsets), last_checkpoint_age_s);
  std::string out = buf;
  out.insert(out.size() - 1, extra_json());
  out.pop_back();  // the closing brace: positions follow
  out += ",\"positions\":\"";
  bool first = true;
  for (auto& [tp, next] : committed_positions) {
    out += (first ? "" : ",") + tp + "=" + std::to_string(next);
    first = false;
  }
  out += "\"" + metrics_json + "}";
  return out;
}

// The watchdog's view of the engine and the coordinator; a failure naming the stuck task(s).
Status Worker::check_stall(StallWatchdog& watchdog, Engine& engine, Coordinator& coordinator) {
  std::map<std::string, int64_t> counters;
  for (auto& ts : engine.stats())
    counters[ts.component + "[" + std::to_string(ts.task) + "]"] =
        ts.counters["in"] + ts.counters["out"];
  auto cs = coordinator.stats();
  auto stuck = watchdog.check(std::chrono::steady_clock::now(), cs.committed_at, counters,
                              cs.last_abort_missing);
  if (stuck.empty()) return Status::Ok();
  std::string names;
  for (auto& t : stuck) names += (names.empty() ? "" : ", ") + t;
  // A bolt chained into the stuck task (local_or_shuffle, worker.chaining) runs on its fiber and
  // does not ack either: it may be the one stuck in execute().
  std::string chained;
  for (auto& st : spec_.streams)
    if (st.from == component_of_task(stuck.front()) &&
        st.grouping.type == GroupingType::local_or_shuffle && config_.worker_chaining)
      chained += (chained.empty() ? "" : ", ") + st.to;
  if (!chained.empty())
    chained = " (or a component chained into it, running on its fiber: " + chained + ")";
  // internal, not timeout: the supervisor compares a non-retriable failure across restarts and
  // gives up when it repeats at the same input position (a stuck bolt that gets stuck again).
  return Status::Internal(
      "stalled: task " + names + " of component '" + component_of_task(stuck.front()) + "'" +
      chained + " made no progress and blocked every checkpoint for " +
      std::to_string(watchdog.timeout().count()) +
      " ms (worker.stall.timeout.ms); a task stuck in execute() is most likely a bug in the "
      "component or a call that never returns (last abort: " +
      cs.last_abort_reason + ")");
}

Worker::Worker(TopologySpec spec, const Registry& registry, WorkerOptions options)
    : spec_(std::move(spec)), registry_(registry), options_(std::move(options)) {}

Status Worker::run() {
  Status s = run_phases();
  // An early return of a phase (joining, restoring) has not moved the machine yet; a failure
  // while running has gone through rolling_back to failed already.
  if (!s.ok() && lifecycle_.state() != WorkerState::failed &&
      lifecycle_.allowed(WorkerState::failed))
    (void)lifecycle_.transition(WorkerState::failed, code_name(s.code()));  // the caller logs s
  return s;
}

void apply_worker_config(const WorkerConfig& cfg, int threads, EngineOptions& eo) {
  eo.threads = threads > 0 ? threads : cfg.worker_threads;
  eo.batch_size = cfg.worker_batch_size;
  eo.channel_capacity = cfg.worker_channel_capacity;
  eo.checkpointing = cfg.checkpoint_enabled;
  eo.chaining = cfg.worker_chaining;
  eo.metrics = cfg.metrics_enabled;
  eo.dead_letter_sink = kafka_dead_letter_sink;
}

// Cluster mode: the ClusterWorker runs generation after generation inside `running`.
Status Worker::run_cluster() {
  SLEET_RETURN_IF_ERROR(lifecycle_.transition(WorkerState::joining, "cluster mode"));
  cluster::ClusterWorker cw(spec_, registry_, options_, config_, stop_, [this] {
    (void)lifecycle_.transition(WorkerState::restoring, "joined the cluster");
    (void)lifecycle_.transition(WorkerState::running, "generations run as assigned");
  });
  Status s = cw.run();
  abandoned_ = cw.abandoned();
  if (lifecycle_.state() != WorkerState::running) return s;  // run() moves it to failed
  if (s.ok()) {
    (void)lifecycle_.transition(WorkerState::stopping, "stop requested");
    (void)lifecycle_.transition(WorkerState::stopped, "tasks joined");
  } else {
    (void)lifecycle_.transition(WorkerState::rolling_back, s.to_string());
    (void)lifecycle_.transition(WorkerState::failed, "tasks joined");
  }
  return s;
}

Status Worker::run_phases() {
  auto parsed = WorkerConfig::from(spec_.config);
  if (!parsed.ok()) return parsed.status().with_context("topology '" + spec_.name + "'");
  config_ = std::move(parsed).value();
  const WorkerConfig& cfg = config_;
  if (options_.cluster.enabled) return run_cluster();
  const bool checkpointing = cfg.checkpoint_enabled;
  EngineOptions eo;
  apply_worker_config(cfg, options_.threads, eo);
  eo.checkpointing = checkpointing;

  std::unique_ptr<zk::Client> zk;
  std::unique_ptr<CheckpointStore> store;
  std::unique_ptr<SnapshotStore> snapshots;
  std::unique_ptr<SnapshotWriter> snapshot_writer;  // tasks write their blobs through it
  std::unique_ptr<CursorStore> cursors;
  std::unique_ptr<Coordinator> coordinator;
  RestorePlan plan;
  Generation gen{0};
  SLEET_RETURN_IF_ERROR(
      lifecycle_.transition(checkpointing ? WorkerState::joining : WorkerState::restoring,
                            checkpointing ? "claiming the generation" : "checkpointing off"));
  if (checkpointing) {
    const std::string& connect = cfg.zookeeper_connect;
    if (connect.empty())
      return Status::Invalid(
          "checkpointing needs zookeeper.connect (or set checkpoint.enabled: false)");
    zk::Options zo;
    zo.connect = connect;
    zo.session_timeout = cfg.zookeeper_session_timeout;
    auto c = zk::Client::connect(zo, 20s);
    if (!c.ok()) return c.status().with_context("connecting to ZooKeeper at " + connect);
    zk = std::move(c).value();
    store = std::make_unique<CheckpointStore>(*zk, cfg.zookeeper_root, spec_.name);
    SLEET_RETURN_IF_ERROR(store->init());
    auto g = store->bump_generation();
    if (!g.ok()) return g.status().with_context("claiming the topology's generation");
    gen = *g;
    SLEET_RETURN_IF_ERROR(lifecycle_.transition(
        WorkerState::restoring, "generation " + std::to_string(gen.value) + " claimed"));
    std::filesystem::path dir = std::filesystem::path(cfg.checkpoint_dir) / spec_.name;
    snapshots =
        std::make_unique<SnapshotStore>(*zk, store->blob_root(), dir, cfg.checkpoint_inline_bytes);
    auto latest = store->load_latest();
    if (!latest.ok()) return latest.status().with_context("reading the latest checkpoint");
    if (latest->has_value()) {
      auto p = plan_recovery(**latest, spec_, *snapshots, store->topology_path());
      if (!p.ok()) return p.status();
      plan = std::move(p).value();
    }
    snapshot_writer = std::make_unique<GenerationSnapshotWriter>(*snapshots, gen);
    eo.snapshots = snapshot_writer.get();
    cursors = store->cursor_store();
    eo.cursors = cursors.get();
    eo.generation = gen;
    if (latest->has_value()) eo.restored_generation = Generation{(**latest).generation};
  }

  if (checkpointing) {
    CoordinatorOptions co;
    co.interval = cfg.checkpoint_interval;
    co.timeout = cfg.checkpoint_timeout;
    coordinator = std::make_unique<Coordinator>(*store, *snapshots, co);
    eo.listener = coordinator.get();
  }
  auto created = Engine::create(spec_, registry_, eo);
  if (!created.ok()) return created.status();
  std::unique_ptr<Engine> engine = std::move(created).value();

  if (plan.id.value > 0)
    spdlog::info("{}: resuming from checkpoint {} ({} partitions, {} task states)", spec_.name,
                 plan.id.value, plan.position_count(), plan.states.size());
  else
    spdlog::info("{}: starting fresh{}", spec_.name, checkpointing ? "" : " (checkpointing off)");
  SLEET_RETURN_IF_ERROR(engine->start(plan));
  EngineTarget target(*engine);
  if (coordinator) {
    Manifest base = manifest_base(spec_, engine->stateful_components());
    base.generation = gen.value;  // who pre-committed the epochs each checkpoint commits
    base.positions = task_positions(plan);
    coordinator->start(target, gen, plan.id, std::move(base));
  }
  SLEET_RETURN_IF_ERROR(lifecycle_.transition(
      WorkerState::running,
      plan.id.value > 0 ? "from checkpoint " + std::to_string(plan.id.value) : "fresh"));

  // Declared before the engine goes out of scope below; the server only reads strings.
  std::unique_ptr<WorkerMetrics> metrics;
  std::unique_ptr<MetricsServer> metrics_server;
  if (cfg.metrics_enabled)
    SLEET_RETURN_IF_ERROR(start_metrics(spec_, cfg, "local", metrics, metrics_server));
  ProgressMeter meter(options_.progress_interval, std::chrono::steady_clock::now());
  Status result;
  double last_in_rate = 0, last_out_rate = 0, last_elapsed = 0;
  auto progress = [&](bool force) {
    auto now = std::chrono::steady_clock::now();
    const bool report = force || meter.due(now);
    const bool refresh = metrics && (force || metrics->due(now));
    if (!report && !refresh) return;
    WorkerProgress p;
    add_engine_figures(spec_, *engine, p);
    if (report) {
      meter.finish(p, now);
      last_in_rate = p.in_rate;
      last_out_rate = p.out_rate;
      last_elapsed = p.elapsed_s;
    } else {
      p.elapsed_s = last_elapsed;
      p.in_rate = last_in_rate;
      p.out_rate = last_out_rate;
    }
    p.restored_from = plan.id.value;
    if (coordinator)
      add_coordinator_figures(*coordinator, *engine, now, p);
    else
      p.drained = engine->all_spouts_drained();
    if (!result.ok()) {
      p.failure = result.to_string();
      p.failure_transient = result.error_class() == ErrorClass::retriable;
    }
    if (metrics) {
      if (refresh) metrics->refresh(*engine, coordinator.get(), now);
      p.metrics_json = metrics->json_fields();
      metrics->set_status(p.to_json());
    }
    if (report && options_.on_progress) options_.on_progress(p);
  };

  // Default (WorkerConfig): a few checkpoint timeouts, so a slow checkpoint is never mistaken for
  // a stuck task.
  StallWatchdog watchdog(spec_, cfg.worker_stall_timeout);
  bool announced_drained = false;
  bool stalled = false;
  bool drain_checkpoint_requested = false;  // once per drained spell, not every 20 ms
  while (true) {
    if (stop_.load()) break;
    if (Status f = engine->failure(); !f.ok()) {
      result = f;
      break;
    }
    if (coordinator) {
      if (Status f = coordinator->failure(); !f.ok()) {
        result = f;
        break;
      }
    }
    if (coordinator) {
      if (Status f = check_stall(watchdog, *engine, *coordinator); !f.ok()) {
        result = f;
        stalled = true;
        break;
      }
    }
    if (options_.until_drained) {
      if (coordinator) {
        auto cs = coordinator->stats();
        if (cs.drained && cs.last_committed.value > 0 &&
            engine->visible_checkpoint() >= cs.last_committed) {
          if (!announced_drained)
            spdlog::info("{}: drained; checkpoint {} committed and visible", spec_.name,
                         cs.last_committed.value);
          announced_drained = true;
          break;
        }
        // Everything is read but no committed checkpoint says so yet: take one now rather than
        // at the next interval (one in flight is finished first; the request outlives it).
        const bool spouts_drained = engine->all_spouts_drained();
        if (!cs.drained && spouts_drained && !drain_checkpoint_requested)
          coordinator->trigger_now();
        drain_checkpoint_requested = spouts_drained;
      } else if (engine->all_spouts_drained()) {
        break;
      }
    }
    progress(false);
    std::this_thread::sleep_for(
        std::min<std::chrono::milliseconds>(20ms, options_.progress_interval));
  }
  // The shutdown below always runs to its end: a refused transition (a bug) becomes the result
  // only when there is no failure to report already.
  auto advance = [&](WorkerState to, const std::string& why) {
    if (Status t = lifecycle_.transition(to, why); !t.ok() && result.ok()) result = t;
  };
  if (result.ok())
    advance(WorkerState::stopping, stop_.load() ? "stop requested" : "drained");
  else
    advance(WorkerState::rolling_back, result.to_string());
  // Order matters: stop committing first, then stop the tasks. Whatever was in flight is simply
  // not committed and will be replayed by the next run.
  if (coordinator) coordinator->stop();
  engine->request_stop();
  if (stalled) {
    // The stuck task never returns to the engine, so its thread cannot be joined: report, then
    // leave the engine to the process exit (cmd_worker.cpp ends the process at once).
    progress(true);
    auto waiter = std::make_shared<std::promise<void>>();
    auto done = waiter->get_future();
    Engine* raw = engine.get();
    std::thread([raw, waiter] {
      (void)raw->wait();
      waiter->set_value();
    }).detach();
    if (done.wait_for(2s) != std::future_status::ready) {
      (void)engine.release();
      abandoned_ = true;
      advance(WorkerState::failed, "stuck task abandoned");
      return result;
    }
    advance(WorkerState::failed, "tasks joined");
    return result;  // the waiter joined the threads
  }
  Status ew = engine->wait();
  if (result.ok()) result = ew;
  progress(true);
  if (lifecycle_.state() == WorkerState::rolling_back)
    advance(WorkerState::failed, "tasks joined");
  else if (!result.ok())
    advance(WorkerState::failed, code_name(result.code()));  // a task failed while stopping
  else
    advance(WorkerState::stopped, "tasks joined");
  return result;
}

}  // namespace sleet
