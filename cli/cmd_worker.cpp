// `sleet worker FILE`: one worker process running a whole topology (local mode). Started by
// `sleet run`, or by hand against an external Kafka and ZooKeeper.
// `sleet worker FILE --zookeeper HOST:PORT [--advertise A.B.C.D:PORT] [--slots N] [--id ID]`, or
// `sleet worker --zookeeper HOST:PORT --topology NAME` (the definition `sleet submit` stored):
// cluster mode (WorkerOptions::cluster), the worker joins the topology's cluster; --zookeeper
// overrides the file's zookeeper.connect. Bad flags exit 2 before anything starts; a plugin of a
// stored definition that differs on this host exits 3 (cluster/submission.hpp verify_plugins).
//
// Exit status (the supervisor in cmd_run.cpp stops on 0, 2 and 3 and restarts on anything else);
// 1 and 3 are Status::worker_exit(), the one classification of codes (core/status.cpp):
//   0  Worker::run returned OK: stopped by SIGINT/SIGTERM, or drained with --until-drained.
//   1  Worker::run failed with any other code (io_error, unavailable, timeout, not_found,
//      already_exists, cancelled, internal): worth restarting.
//   2  the topology file did not load or validate, or a --set was not key=value (load_or_exit).
//      A task stalled past worker.stall.timeout.ms is such a failure (internal): a stall may be a
//      call to an outside service that never returns, which a restart can cure; the supervisor
//      gives up when the same stall repeats at the same input position.
//   3  Worker::run failed with incompatible (checkpoint does not fit the topology), corruption
//      (missing or corrupt checkpoint data), fenced (a newer worker took over) or invalid_argument
//      (a bad config or component argument found at start-up, e.g. a KafkaSpout without brokers,
//      or a poison record under on_error: fail, runtime/engine.cpp):
//      a restart with the same file cannot fix any of them.
// Command-line errors caught by CLI11 (unknown option, missing FILE, a value out of range) exit 2.
#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/cli_util.hpp"
#include "cli/commands.hpp"
#include "cluster/submission.hpp"
#include "cluster/worker.hpp"
#include "coordination/zk_client.hpp"

namespace sleet::cli {

namespace {

struct ClusterFlags {
  std::string zookeeper, advertise, id, topology, root;
  int slots = 0;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "sleet worker: " << why << "\n";
  throw CLI::RuntimeError(kExitUsage);
}

// Exit 2 for flags that cannot make a worker, before anything connects.
void check_cluster_flags(const TopologyArgs& file, ClusterFlags& c, CLI::App* cmd) {
  const bool cluster_only = cmd->count("--advertise") || cmd->count("--slots") ||
                            cmd->count("--id") || cmd->count("--topology") || cmd->count("--root");
  if (c.zookeeper.empty() && cluster_only)
    usage(
        "--advertise, --slots, --id, --topology and --root are for cluster mode: add "
        "--zookeeper HOST:PORT");
  if (!file.file.empty() && !c.topology.empty())
    usage("give a topology FILE or --topology NAME (a submitted one), not both");
  if (file.file.empty() && c.topology.empty())
    usage(
        "a topology FILE is required (or --zookeeper HOST:PORT --topology NAME for one stored "
        "by `sleet submit`)");
  if (c.zookeeper.empty()) return;
  for (const std::string& e : {zookeeper_flag_error(c.zookeeper), advertise_flag_error(c.advertise),
                               worker_id_flag_error(c.id)})
    if (!e.empty()) usage(e);
  if (c.slots < 0) usage("--slots " + std::to_string(c.slots) + ": at least 0 (0: unlimited)");
}

// The definition `sleet submit` stored, checked against this host's plugins and loaded like a
// file (with --set and --zookeeper on top). Exits 1 when ZooKeeper is unreachable (worth a
// restart), 3 for a plugin that differs here, 2 for a definition that does not load.
TopologySpec load_submitted(const ClusterFlags& c, const TopologyArgs& args) {
  zk::Options zo;
  zo.connect = c.zookeeper;
  auto client = zk::Client::connect(zo, std::chrono::seconds(20));
  if (!client.ok()) {
    spdlog::error("connecting to ZooKeeper at {}: {}", c.zookeeper, client.status().message());
    throw CLI::RuntimeError(kExitFailure);
  }
  auto def = cluster::load_definition(**client, c.root, c.topology);
  if (!def.ok()) {
    spdlog::error("{}", def.status().message());
    throw CLI::RuntimeError(def.status().code() == Code::unavailable ? kExitFailure
                                                                     : kExitUnrecoverable);
  }
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  if (Status s = cluster::verify_plugins(*def, host); !s.ok()) {
    spdlog::error("{}", s.message());
    throw CLI::RuntimeError(kExitUnrecoverable);
  }
  LoadOptions lo;
  for (auto& s : args.sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) usage("--set takes key=value, got '" + s + "'");
    lo.overrides[s.substr(0, eq)] = s.substr(eq + 1);
  }
  // The ensemble and root it was loaded from are the ones it runs against.
  lo.overrides["zookeeper.connect"] = c.zookeeper;
  lo.overrides["zookeeper.root"] = c.root;
  std::vector<Diagnostic> diags;
  auto t = load_topology_file_text(
      def->yaml, "zookeeper:" + cluster::definition_znode(c.root, c.topology), lo, diags);
  for (auto& d : diags) std::cerr << d.to_string() << "\n";
  if (!t.ok()) {
    spdlog::error("the stored definition of topology '{}' does not load on this host: {}",
                  c.topology, t.status().message());
    throw CLI::RuntimeError(kExitUsage);
  }
  spdlog::info("loaded topology '{}' as submitted by {} ({} plugin(s) checked)", c.topology,
               def->submitted_by, def->plugins.size());
  return std::move(t).value().spec;
}

}  // namespace

void register_worker(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "worker",
      "Run a topology in this process (used by `sleet run`); with --zookeeper, join its cluster");
  auto opts = std::make_shared<TopologyArgs>();
  auto cf = std::make_shared<ClusterFlags>();
  cf->advertise = "127.0.0.1:0";
  cf->root = "/sleet";
  auto until_drained = std::make_shared<bool>(false);
  auto threads = std::make_shared<int>(0);
  auto status_file = std::make_shared<std::string>();
  auto status_ms = std::make_shared<int>(500);
  add_topology_args(cmd, *opts, /*file_required=*/false);
  cmd->add_option("--zookeeper", cf->zookeeper,
                  "Cluster mode: join the topology's cluster on this ZooKeeper (HOST:PORT[,...]); "
                  "overrides zookeeper.connect");
  cmd->add_option("--advertise", cf->advertise,
                  "Cluster mode: A.B.C.D:PORT other workers reach this one at (default "
                  "127.0.0.1:0, port 0: a free one)");
  cmd->add_option("--slots", cf->slots,
                  "Cluster mode: placement units this worker takes (default 0: unlimited)");
  cmd->add_option("--id", cf->id, "Cluster mode: the worker's id (default <hostname>-<pid>)");
  cmd->add_option("--topology", cf->topology,
                  "Cluster mode without FILE: run the topology `sleet submit` stored as NAME");
  cmd->add_option("--root", cf->root,
                  "With --topology: the zookeeper.root it was submitted under (default /sleet)");
  cmd->add_flag(
      "--until-drained", *until_drained,
      "Exit 0 once all input is consumed and its last checkpoint is committed and visible");
  cmd->add_option("--threads", *threads, "Worker threads (default: worker.threads, else cores)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--status-file", *status_file, "Write progress as JSON to this file");
  cmd->add_option("--status-interval-ms", *status_ms, "How often to write the status file");
  cmd->callback([=] {
    SignalWatcher signals;  // blocks SIGINT/SIGTERM before any thread starts
    if (cf->id.empty()) cf->id = default_worker_id();
    check_cluster_flags(*opts, *cf, cmd);
    setup_logging("worker");
    TopologySpec spec;
    if (!cf->topology.empty()) {
      spec = load_submitted(*cf, *opts);
    } else {
      TopologyArgs args = *opts;
      if (!cf->zookeeper.empty()) args.sets.push_back("zookeeper.connect=" + cf->zookeeper);
      spec = load_or_exit(args);
    }
    WorkerOptions wo;
    wo.threads = *threads;
    if (!cf->zookeeper.empty()) {
      wo.cluster.enabled = true;
      wo.cluster.id = cf->id;
      wo.cluster.advertise = cf->advertise;
      wo.cluster.slots = cf->slots;
      spdlog::info("cluster mode: worker {} advertising {} with {} slot(s) on ZooKeeper {}", cf->id,
                   cf->advertise,
                   cf->slots == 0 ? std::string("unlimited") : std::to_string(cf->slots),
                   cf->zookeeper);
    }
    wo.until_drained = *until_drained;
    wo.progress_interval = std::chrono::milliseconds(std::max(1, *status_ms));
    std::string path = *status_file;
    auto last_log = std::chrono::steady_clock::now();
    auto write_status = [path](const WorkerProgress& p) {
      if (path.empty()) return;
      std::string tmp = path + ".tmp";
      {
        std::ofstream f(tmp, std::ios::trunc);
        f << p.to_json() << "\n";
      }
      std::rename(tmp.c_str(), path.c_str());
    };
    auto reported = std::make_shared<bool>(false);
    wo.on_progress = [write_status, reported, &last_log](const WorkerProgress& p) {
      write_status(p);
      *reported = true;
      auto now = std::chrono::steady_clock::now();
      if (now - last_log >= std::chrono::seconds(5)) {
        spdlog::info("{}", p.to_line());
        last_log = now;
      }
    };
    Worker worker(spec, Registry::global(), wo);
    signals.on_signal([&worker](int) { worker.request_stop(); });
    Status s = worker.run();
    if (s.ok()) throw CLI::RuntimeError(kExitOk);
    spdlog::error("{}", s.to_string());
    if (!*reported) {
      // Failed before the engine ran: the supervisor still learns why from this pid's status.
      WorkerProgress p;
      p.failure = s.to_string();
      p.failure_transient = s.error_class() == ErrorClass::retriable;
      write_status(p);
    }
    // The one classification (include/sleet/status.hpp): 3 for incompatible, corruption, fenced
    // and invalid_argument, else 1.
    static_assert(static_cast<int>(WorkerExit::restart) == kExitFailure &&
                  static_cast<int>(WorkerExit::unrecoverable) == kExitUnrecoverable);
    const int code = static_cast<int>(s.worker_exit());
    if (worker.abandoned_tasks()) {
      // A stuck task's thread still runs inside Worker's engine: returning would run static
      // destructors under it. Its status and log line are written; end here.
      spdlog::shutdown();
      std::_Exit(code);
    }
    throw CLI::RuntimeError(code);
  });
}

}  // namespace sleet::cli
