// The real collaborators of the Supervisor (cluster/supervisor.hpp): the worker as a child
// process, the embedded ZooKeeper server, the input loader with the retention watch, the
// worker's status file and the steady clock. cli/cmd_run.cpp builds them; tests use fakes.
//
// Threading: as the Supervisor's, one thread.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "cluster/drain_check.hpp"
#include "cluster/input_loader.hpp"
#include "cluster/process.hpp"
#include "cluster/supervisor.hpp"
#include "cluster/zk_server.hpp"

namespace sleet::cluster {

// The whole file ("" if it cannot be read).
std::string read_file_or_empty(const std::filesystem::path& p);
// Its last `n` lines.
std::string last_lines(const std::filesystem::path& p, size_t n);

// `sleet worker ...` started by PID, its output appended to `log`.
class ProcessWorkerLauncher : public WorkerLauncher {
 public:
  ProcessWorkerLauncher(std::vector<std::string> argv, std::filesystem::path log);
  Result<pid_t> start() override;
  bool running() override { return process_.running(); }
  int exit_status() override { return process_.exit_status().value_or(-1); }
  void kill() override;
  void terminate() override;
  int stop(std::chrono::milliseconds grace) override { return process_.stop(grace); }
  std::string log_tail(size_t lines) override { return last_lines(log_, lines); }
  void restarted(const std::string& reason) override;

 private:
  std::vector<std::string> argv_;
  std::string restarts_;  // SLEET_RESTARTS for the next start: "<ISO-8601>\t<reason>\n" each
  std::filesystem::path log_;
  Process process_;
};

class EmbeddedZooKeeperChild : public ZooKeeperChild {
 public:
  explicit EmbeddedZooKeeperChild(EmbeddedZooKeeper& zk) : zk_(zk) {}
  bool running() override { return zk_.running(); }
  pid_t pid() override { return zk_.pid(); }
  int port() override { return zk_.port(); }
  std::string dir() override { return zk_.dir().string(); }
  std::string log_path() override { return zk_.log_path().string(); }
  Status restart() override { return zk_.restart(); }

 private:
  EmbeddedZooKeeper& zk_;
};

// `retention` is null when nothing is watched (an external Kafka).
class LoaderFeed : public InputFeed {
 public:
  LoaderFeed(InputLoader& loader, RetentionWatch* retention)
      : loader_(loader), retention_(retention) {}
  bool done() override { return loader_.done(); }
  Status status() override { return loader_.status(); }
  int64_t loaded() override { return loader_.loaded(); }
  std::map<std::string, int64_t> final_ends() override { return loader_.final_ends(); }
  std::map<std::string, int64_t> log_starts() override {
    return retention_ ? retention_->log_starts() : std::map<std::string, int64_t>{};
  }

 private:
  InputLoader& loader_;
  RetentionWatch* retention_;
};

class StatusFile : public StatusSource {
 public:
  explicit StatusFile(std::filesystem::path path) : path_(std::move(path)) {}
  std::string read() override { return read_file_or_empty(path_); }

 private:
  std::filesystem::path path_;
};

class SteadyClock : public SupervisorClock {
 public:
  time_point now() override { return std::chrono::steady_clock::now(); }
  void sleep_for(std::chrono::milliseconds d) override;
};

}  // namespace sleet::cluster
