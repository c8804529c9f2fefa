#include "cli/cli_util.hpp"

#include <arpa/inet.h>
#include <signal.h>
#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/commands.hpp"
#include "topology_dsl/loader.hpp"

namespace sleet::cli {

void add_topology_args(CLI::App* cmd, TopologyArgs& args, bool file_required) {
  auto* file = cmd->add_option("FILE", args.file, "Topology file (YAML)")->check(CLI::ExistingFile);
  if (file_required) file->required();
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

// "1".."65535" (or "0" when zero_ok), digits only.
bool port_ok(const std::string& p, bool zero_ok) {
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos)
    return false;
  long v = std::strtol(p.c_str(), nullptr, 10);
  return v <= 65535 && (v > 0 || zero_ok);
}

}  // namespace

std::string zookeeper_flag_error(const std::string& connect) {
  const std::string example = " (HOST:PORT[,HOST:PORT...][/chroot], e.g. zk1:2181,zk2:2181)";
  if (connect.empty()) return "--zookeeper is empty" + example;
  std::string hosts = connect.substr(0, connect.find('/'));
  size_t i = 0;
  while (i <= hosts.size()) {
    size_t comma = hosts.find(',', i);
    if (comma == std::string::npos) comma = hosts.size();
    std::string hp = hosts.substr(i, comma - i);
    size_t colon = hp.rfind(':');
    if (colon == std::string::npos || colon == 0 || !port_ok(hp.substr(colon + 1), false))
      return "--zookeeper " + connect + ": '" + hp + "' is not HOST:PORT" + example;
    i = comma + 1;
  }
  return "";
}

std::string advertise_flag_error(const std::string& address) {
  const std::string why =
      "--advertise " + address +
      ": not A.B.C.D:PORT (a numeric IPv4 address other workers reach this one at, and a port "
      "0..65535; 0 picks a free one), e.g. --advertise 10.0.0.5:7400";
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || !port_ok(address.substr(colon + 1), true)) return why;
  in_addr a{};
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &a) != 1) return why;
  return "";
}

std::string worker_id_flag_error(const std::string& id) {
  if (id.empty() || id == "." || id == ".." || id.find('/') != std::string::npos || id.size() > 200)
    return "--id '" + id +
           "': a worker id is 1 to 200 characters, no '/', not '.' or '..' (it "
           "names the worker's znode under workers/)";
  for (unsigned char c : id)
    if (c < 0x20 || c == 0x7f) return "--id: control characters are not allowed in a worker id";
  return "";
}

std::string default_worker_id() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string(host[0] ? host : "worker") + "-" + std::to_string(getpid());
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
