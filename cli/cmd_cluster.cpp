// The cluster verbs against any ZooKeeper (cluster/submission.hpp):
//   sleet submit FILE --zookeeper Z [--set k=v] [--replace]   store the definition
//   sleet list --zookeeper Z [--root R] [--json]               what is there, a table
//   sleet kill NAME --zookeeper Z [--root R] [--wait SECONDS]  ask every worker to stop
// Exit status: 0 done; 1 ZooKeeper unreachable, or --wait ran out with workers still live (worth
// another try); 2 bad flags, a file that does not load, a submission refused (a different
// definition is running) or a topology that does not exist.
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/cli_util.hpp"
#include "cli/commands.hpp"
#include "cluster/submission.hpp"
#include "coordination/zk_client.hpp"
#include "core/config.hpp"

namespace sleet::cli {

namespace {

[[noreturn]] void fail(int code, const std::string& cause) {
  spdlog::error("{}", cause);
  throw CLI::RuntimeError(code);
}

void check_zookeeper_flag(const std::string& connect) {
  if (std::string e = zookeeper_flag_error(connect); !e.empty()) {
    std::cerr << "sleet: " << e << "\n";
    throw CLI::RuntimeError(kExitUsage);
  }
}

std::unique_ptr<zk::Client> connect_or_exit(const std::string& connect) {
  zk::Options zo;
  zo.connect = connect;
  auto c = zk::Client::connect(zo, std::chrono::seconds(10));
  if (!c.ok())
    fail(kExitFailure,
         "cannot reach ZooKeeper at " + connect + " within 10 s: " + c.status().message());
  return std::move(c).value();
}

// A failed ZooKeeper request: 1 when it may work on another try, else 2 (the request itself).
int code_of(const Status& s) {
  return s.error_class() == ErrorClass::retriable || s.code() == Code::io_error ? kExitFailure
                                                                                : kExitUsage;
}

void register_submit(CLI::App& app) {
  struct Opts {
    TopologyArgs topology;
    std::string zookeeper;
    bool replace = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "submit",
      "Store a topology's definition in ZooKeeper, so `sleet worker --zookeeper Z --topology "
      "NAME` on any host runs it");
  add_topology_args(cmd, o->topology);
  cmd->add_option("--zookeeper", o->zookeeper, "The ensemble, HOST:PORT[,...][/chroot]")
      ->required();
  cmd->add_flag("--replace", o->replace,
                "Replace the stored definition even while workers run a different one");
  cmd->callback([o] {
    check_zookeeper_flag(o->zookeeper);
    setup_logging("submit");
    TopologyArgs args = o->topology;
    args.sets.push_back("zookeeper.connect=" + o->zookeeper);
    LoadedTopology t = load_file_or_exit(args);
    auto config = WorkerConfig::from(t.spec.config);
    if (!config.ok()) fail(kExitUsage, args.file + ": " + config.status().message());
    auto def = cluster::make_definition(t);
    if (!def.ok()) fail(kExitUsage, def.status().message());
    auto zk = connect_or_exit(o->zookeeper);
    const std::string& root = config->zookeeper_root;
    auto r = cluster::submit(*zk, root, *def, o->replace);
    if (!r.ok()) fail(code_of(r.status()), r.status().message());
    std::printf("topology %s %s in %s on %s (%zu plugin(s) with checksums)\n", def->name.c_str(),
                *r == cluster::SubmitResult::created     ? "submitted"
                : *r == cluster::SubmitResult::unchanged ? "already submitted, unchanged,"
                                                         : "replaced",
                cluster::definition_znode(root, def->name).c_str(), o->zookeeper.c_str(),
                def->plugins.size());
    std::printf("start workers with: sleet worker --zookeeper %s%s --topology %s\n",
                o->zookeeper.c_str(), root == "/sleet" ? "" : (" --root " + root).c_str(),
                def->name.c_str());
    std::fflush(stdout);
    throw CLI::RuntimeError(kExitOk);
  });
}

std::string table(const std::vector<cluster::TopologyListing>& list) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "SUBMITTED", "GENERATION", "WORKERS", "LATEST CHECKPOINT", "KILL REQUESTED"}};
  for (auto& l : list) {
    std::string workers = std::to_string(l.workers.size());
    if (!l.workers.empty()) {
      std::string ids;
      for (auto& w : l.workers) ids += (ids.empty() ? "" : ",") + w;
      workers += " (" + ids + ")";
    }
    rows.push_back({l.name, l.submitted ? "yes" : "no", std::to_string(l.generation), workers,
                    l.latest_checkpoint > 0 ? std::to_string(l.latest_checkpoint) : "-",
                    l.kill_requested ? "yes" : "no"});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::string out;
  for (auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i)
      line += r[i] + (i + 1 < r.size() ? std::string(width[i] - r[i].size() + 2, ' ') : "");
    out += line + "\n";
  }
  return out;
}

void register_list(CLI::App& app) {
  struct Opts {
    std::string zookeeper, root = "/sleet";
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "list", "The topologies in ZooKeeper: generation, live workers, latest checkpoint");
  cmd->add_option("--zookeeper", o->zookeeper, "The ensemble, HOST:PORT[,...][/chroot]")
      ->required();
  cmd->add_option("--root", o->root, "zookeeper.root (default /sleet)");
  cmd->add_flag("--json", o->json, "One JSON array instead of the table");
  cmd->callback([o] {
    check_zookeeper_flag(o->zookeeper);
    setup_logging("list");
    auto zk = connect_or_exit(o->zookeeper);
    auto l = cluster::list_topologies(*zk, o->root);
    if (!l.ok()) fail(code_of(l.status()), l.status().message());
    if (o->json)
      std::printf("%s\n", cluster::listings_json(*l).c_str());
    else if (l->empty())
      std::printf("no topologies under %s on %s\n", o->root.c_str(), o->zookeeper.c_str());
    else
      std::printf("%s", table(*l).c_str());
    std::fflush(stdout);
    throw CLI::RuntimeError(kExitOk);
  });
}

void register_kill(CLI::App& app) {
  struct Opts {
    std::string name, zookeeper, root = "/sleet";
    double wait_s = -1;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "kill",
      "Stop a topology's workers: the leader takes a final checkpoint, then every worker exits");
  cmd->add_option("NAME", o->name, "The topology's name")->required();
  cmd->add_option("--zookeeper", o->zookeeper, "The ensemble, HOST:PORT[,...][/chroot]")
      ->required();
  cmd->add_option("--root", o->root, "zookeeper.root (default /sleet)");
  cmd->add_option("--wait", o->wait_s,
                  "Wait up to SECONDS until no worker is live (exit 1 if some still are)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([o] {
    check_zookeeper_flag(o->zookeeper);
    setup_logging("kill");
    auto zk = connect_or_exit(o->zookeeper);
    Status s = cluster::request_kill(*zk, o->root, o->name);
    if (!s.ok()) fail(code_of(s), s.message());
    auto live = cluster::live_workers(*zk, o->root, o->name);
    if (!live.ok()) fail(code_of(live.status()), live.status().message());
    std::printf("kill of topology %s requested (%zu worker(s) live)\n", o->name.c_str(),
                live->size());
    std::fflush(stdout);
    if (o->wait_s < 0) throw CLI::RuntimeError(kExitOk);
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(static_cast<int64_t>(o->wait_s * 1000));
    while (!live->empty()) {
      if (std::chrono::steady_clock::now() >= until) {
        std::string ids;
        for (auto& w : *live) ids += (ids.empty() ? "" : ", ") + w;
        fail(kExitFailure, "after " + std::to_string(o->wait_s) + " s, " +
                               std::to_string(live->size()) + " worker(s) of " + o->name +
                               " are still live: " + ids +
                               " (the kill stays requested; wait longer, or stop them by hand)");
      }
      // A children watch wakes up at the next leave; the bound re-reads now and then anyway.
      zk::Watch watch;
      live = cluster::live_workers(*zk, o->root, o->name, &watch);
      if (!live.ok()) fail(code_of(live.status()), live.status().message());
      if (live->empty()) break;
      auto step = std::min<std::chrono::steady_clock::time_point>(
          until, std::chrono::steady_clock::now() + std::chrono::seconds(1));
      if (watch.armed())
        (void)watch.wait_until(step);
      else
        std::this_thread::sleep_until(step);
    }
    std::printf("every worker of %s has stopped\n", o->name.c_str());
    std::fflush(stdout);
    throw CLI::RuntimeError(kExitOk);
  });
}

}  // namespace

void register_cluster(CLI::App& app) {
  register_submit(app);
  register_list(app);
  register_kill(app);
}

}  // namespace sleet::cli
