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
#include <vector>

#include <sleet/topology.hpp>

namespace sleet::cli {

inline constexpr int kExitUnrecoverable = 3;

struct TopologyArgs {
  std::string file;
  std::vector<std::string> sets;  // key=value config overrides
};
void add_topology_args(CLI::App* cmd, TopologyArgs& args);
// Loads, substitutes, loads plugins and validates; on any error prints every diagnostic to stderr
// and throws CLI::RuntimeError(kExitUsage).
TopologySpec load_or_exit(const TopologyArgs& args);

void setup_logging(const std::string& role);

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
