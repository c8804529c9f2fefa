// Helpers shared by CLI commands: the topology-file arguments, loading with diagnostics printed
// the one way (`FILE:LINE:COL: error: MESSAGE`, exit 2), logging set-up, and signal handling.
// CLI code only: these print and exit.
#pragma once

#include <CLI/CLI.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sleet/topology.hpp>

#include "topology_dsl/loader.hpp"

namespace sleet::cli {

inline constexpr int kExitUnrecoverable = 3;

struct TopologyArgs {
  std::string file;
  std::vector<std::string> sets;  // key=value config overrides
};
// FILE (required unless `file_required` is false) and --set.
void add_topology_args(CLI::App* cmd, TopologyArgs& args, bool file_required = true);

// Flag checks for the cluster verbs (exit 2 with the message when not ""): a ZooKeeper connect
// string "host:port[,host:port...][/chroot]" (every port 1..65535), and a transport address
// "A.B.C.D:PORT" (numeric IPv4, port 0..65535; 0: any free port).
std::string zookeeper_flag_error(const std::string& connect);
std::string advertise_flag_error(const std::string& address);
// A worker id (a znode name): not empty, no '/', not "." or "..", at most 200 bytes.
std::string worker_id_flag_error(const std::string& id);
// "<hostname>-<pid>": the default --id of `sleet worker`.
std::string default_worker_id();
// Loads, substitutes, loads plugins and validates; on any error prints every diagnostic to stderr
// and throws CLI::RuntimeError(kExitUsage). print_warnings false: a second load of a file already
// loaded once keeps its warnings quiet (errors are still printed).
TopologySpec load_or_exit(const TopologyArgs& args, bool print_warnings = true);
// The same, with what the file holds beside the spec (its `topics:`, for `sleet run`).
LoadedTopology load_file_or_exit(const TopologyArgs& args, bool print_warnings = true);

void setup_logging(const std::string& role);

// The one-line cause and the hint for a failed start of the embedded ZooKeeper: a port in use is
// said once, with the way out for a port (not the packages' hint, which is for a missing install).
std::pair<std::string, std::string> zookeeper_start_failure(const Status& s, int requested_port);

// Blocks SIGINT and SIGTERM in this thread (and threads created after it) and delivers them to a
// callback on a dedicated thread. Construct first thing in a command, before other threads start.
class SignalWatcher {
 public:
  SignalWatcher();
  ~SignalWatcher();
  // Also calls fn at once if a signal arrived before; fn may then run twice for one signal.
  void on_signal(std::function<void(int)> fn);
  int last_signal() const { return last_.load(); }

 private:
  std::function<void(int)> fn_;
  std::mutex mu_;
  std::atomic<int> last_{0};
  std::thread thread_;
};

}  // namespace sleet::cli
