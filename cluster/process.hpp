// Child processes that Sleet starts (workers, the ZooKeeper server) and stops by PID, never by
// name. The child gets its own process group so a terminal's Ctrl-C reaches only the supervisor,
// which then stops its children in order.
//
// Threading: one owner thread per Process.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sleet/status.hpp>

namespace sleet {

class Process {
 public:
  struct Options {
    std::map<std::string, std::string> env;  // added to the inherited environment
    std::string stdout_path;                 // "" inherits; otherwise appended to
    std::string stderr_path;
    std::string cwd;
  };
  Process() = default;
  static Result<Process> spawn(const std::vector<std::string>& argv, const Options& options);
  static Result<Process> spawn(const std::vector<std::string>& argv) {
    return spawn(argv, Options{});
  }
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();  // SIGKILLs and reaps a child still running

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits up to `timeout` for the exit; the status (exit code, or 128+signal), or nullopt.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGTERM, up to `grace` to exit, then SIGKILL. Returns the exit status.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  // Exit status once it has exited.
  std::optional<int> exit_status() const { return status_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// "killed by SIGKILL" / "exited with status 1" for a status from Process.
std::string describe_exit(int status);

}  // namespace sleet
