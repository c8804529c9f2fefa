#include "cli/cli_util.hpp"

#include <signal.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/commands.hpp"
#include "topology_dsl/loader.hpp"

namespace sleet::cli {

void add_topology_args(CLI::App* cmd, TopologyArgs& args) {
  cmd->add_option("FILE", args.file, "Topology file (YAML)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--set", args.sets, "Override a config value: --set key=value (repeatable)");
}

LoadedTopology load_file_or_exit(const TopologyArgs& args, bool print_warnings) {
  LoadOptions lo;
  for (auto& s : args.sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "sleet: --set takes key=value, got '" << s << "'\n";
      throw CLI::RuntimeError(kExitUsage);
    }
    lo.overrides[s.substr(0, eq)] = s.substr(eq + 1);
  }
  std::vector<Diagnostic> diags;
  auto spec = load_topology_file(args.file, lo, diags);
  if (print_warnings || !spec.ok())
    for (auto& d : diags) std::cerr << d.to_string() << "\n";
  if (!spec.ok()) {
    if (diags.empty()) std::cerr << args.file << ": error: " << spec.status().message() << "\n";
    throw CLI::RuntimeError(kExitUsage);
  }
  return std::move(spec).value();
}

TopologySpec load_or_exit(const TopologyArgs& args, bool print_warnings) {
  return load_file_or_exit(args, print_warnings).spec;
}

void setup_logging(const std::string& role) {
  auto logger = spdlog::stderr_color_mt(role);
  logger->set_pattern("%H:%M:%S.%e [" + role + "] %^%l%$ %v");
  spdlog::set_default_logger(logger);
  if (const char* lvl = getenv("SLEET_LOG_LEVEL")) spdlog::set_level(spdlog::level::from_str(lvl));
}

std::pair<std::string, std::string> zookeeper_start_failure(const Status& s, int requested_port) {
  std::string msg = s.message();
  // zk_server.cpp already starts its messages with what failed; say it once.
  std::string cause = msg.rfind("cannot start ZooKeeper", 0) == 0 || msg.rfind("ZooKeeper ", 0) == 0
                          ? msg
                          : "cannot start ZooKeeper: " + msg;
  if (msg.find("already in use") != std::string::npos)
    return {cause, requested_port != 0
                       ? "choose another --zookeeper-port, or leave it out to use a free port"
                       : "another process took the port; run again"};
  return {cause,
          "scripts/sleet installs the zookeeper and default-jre-headless packages; "
          "SLEET_ZOOKEEPER_JAR and SLEET_JAVA point at other installs; or set zookeeper.connect "
          "to an existing ensemble"};
}

namespace {
sigset_t watched() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGUSR2);  // our own wake-up for shutdown; blocked so it cannot kill us
  return s;
}
}  // namespace

SignalWatcher::SignalWatcher() {
  sigset_t s = watched();
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
  thread_ = std::thread([this] {
    sigset_t s = watched();
    while (true) {
      int sig = 0;
      if (sigwait(&s, &sig) != 0) continue;
      if (sig == SIGUSR2) return;
      last_.store(sig);
      std::function<void(int)> fn;
      {
        std::lock_guard lk(mu_);
        fn = fn_;
      }
      if (fn) fn(sig);
    }
  });
}

SignalWatcher::~SignalWatcher() {
  pthread_kill(thread_.native_handle(), SIGUSR2);
  thread_.join();
}

void SignalWatcher::on_signal(std::function<void(int)> fn) {
  {
    std::lock_guard lk(mu_);
    fn_ = fn;
  }
  // A signal that came before the callback was set (a worker stopped while still loading its
  // topology) is delivered now, or it would be lost and the worker never stop. The watcher
  // thread may deliver the same one too: callbacks must be idempotent (request_stop is).
  if (int sig = last_.load(); sig != 0) fn(sig);
}

}  // namespace sleet::cli
