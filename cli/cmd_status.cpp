// `sleet status [NAME] [--zookeeper H:P [--root R]] [--state-dir DIR] [--json]`: what a topology
// is doing (docs/status.md). With --zookeeper: its live workers, each one's GET /api/status on
// its metrics endpoint, and the checkpoint committed in ZooKeeper. Without: the run of `sleet run`
// whose state dir is here (cluster/status_sources.hpp), never a file of an earlier run; a run that
// is over is shown as stopped, with its final figures.
// Exit status: 0 shown (running or stopped); 1 ZooKeeper unreachable (worth another try); 2 bad
// flags; 3 nothing to show: no such topology, no state dir, or no run ever used it.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <ctime>
#include <iostream>

#include "cli/cli_util.hpp"
#include "cli/commands.hpp"
#include "cluster/status_sources.hpp"
#include "cluster/status_view.hpp"
#include "coordination/zk_client.hpp"

namespace sleet::cli {

namespace {

struct StatusOptions {
  std::string name, zookeeper, root = "/sleet", state_dir;
  bool json = false;
  double timeout_s = 2;
};

[[noreturn]] void fail(int code, const std::string& cause) {
  std::fprintf(stderr, "sleet status: %s\n", cause.c_str());
  throw CLI::RuntimeError(code);
}

int code_of(const Status& s) {
  if (s.code() == Code::not_found) return kExitUnrecoverable;
  if (s.code() == Code::invalid_argument) return kExitUsage;
  return kExitFailure;
}

void show(const cluster::StatusReport& r, bool json) {
  if (json)
    std::printf("%s\n", cluster::write_json(cluster::status_json(r)).c_str());
  else
    std::printf("%s", cluster::render_status(r, std::time(nullptr)).c_str());
  std::fflush(stdout);
}

}  // namespace

void register_status(CLI::App& app) {
  auto o = std::make_shared<StatusOptions>();
  auto* cmd = app.add_subcommand(
      "status",
      "What a topology is doing: per component rates, latency, back-pressure and lag, the last "
      "checkpoints, restarts and failures, where each task runs");
  cmd->add_option("NAME", o->name,
                  "The topology (with --zookeeper: required; without: the state dir "
                  "sleet-state/NAME, default the one here)");
  cmd->add_option("--zookeeper", o->zookeeper,
                  "Ask this ensemble, HOST:PORT[,...][/chroot], and the workers' metrics "
                  "endpoints");
  cmd->add_option("--root", o->root, "zookeeper.root (default /sleet)");
  cmd->add_option("--state-dir", o->state_dir,
                  "The state dir of a `sleet run` (default: the current directory when it is one, "
                  "else sleet-state/NAME)");
  cmd->add_flag("--json", o->json, "One JSON object (docs/status.md) instead of the tables");
  cmd->add_option("--timeout", o->timeout_s,
                  "Seconds to wait for each worker's metrics endpoint (default 2)")
      ->check(CLI::PositiveNumber);
  cmd->callback([o] {
    if (!o->zookeeper.empty() && !o->state_dir.empty())
      fail(kExitUsage, "--zookeeper and --state-dir ask different places; give one of them");
    if (!o->zookeeper.empty()) {
      if (std::string e = zookeeper_flag_error(o->zookeeper); !e.empty()) fail(kExitUsage, e);
      if (o->name.empty())
        fail(kExitUsage, "with --zookeeper, name the topology: `sleet status NAME --zookeeper " +
                             o->zookeeper + "` (`sleet list --zookeeper " + o->zookeeper +
                             "` shows the names)");
      setup_logging("status");
      // The ZooKeeper C client logs to stderr; only errors are of interest here.
      if (!getenv("SLEET_LOG_LEVEL")) spdlog::set_level(spdlog::level::warn);
      zk::Options zo;
      zo.connect = o->zookeeper;
      auto zk = zk::Client::connect(zo, std::chrono::seconds(10));
      if (!zk.ok())
        fail(kExitFailure, "cannot reach ZooKeeper at " + o->zookeeper +
                               " within 10 s: " + zk.status().message());
      auto r = cluster::zookeeper_report(
          **zk, o->zookeeper, o->root, o->name,
          std::chrono::milliseconds(static_cast<int64_t>(o->timeout_s * 1000)));
      if (!r.ok()) fail(code_of(r.status()), r.status().message());
      show(*r, o->json);
      throw CLI::RuntimeError(kExitOk);
    }
    std::filesystem::path dir = o->state_dir;
    if (dir.empty()) {
      auto found = cluster::find_state_dir(o->name);
      if (!found.ok()) fail(code_of(found.status()), found.status().message());
      dir = *found;
    }
    auto r = cluster::state_dir_report(dir, o->name);
    if (!r.ok()) fail(code_of(r.status()), r.status().message());
    show(*r, o->json);
    throw CLI::RuntimeError(kExitOk);
  });
}

}  // namespace sleet::cli
