// `sleet worker FILE`: one worker process running a whole topology (local mode). Started by
// `sleet run`, or by hand against an external Kafka and ZooKeeper.
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

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/cli_util.hpp"
#include "cli/commands.hpp"
#include "cluster/worker.hpp"

namespace sleet::cli {

void register_worker(CLI::App& app) {
  auto* cmd = app.add_subcommand("worker", "Run a topology in this process (used by `sleet run`)");
  auto opts = std::make_shared<TopologyArgs>();
  auto until_drained = std::make_shared<bool>(false);
  auto threads = std::make_shared<int>(0);
  auto status_file = std::make_shared<std::string>();
  auto status_ms = std::make_shared<int>(500);
  add_topology_args(cmd, *opts);
  cmd->add_flag(
      "--until-drained", *until_drained,
      "Exit 0 once all input is consumed and its last checkpoint is committed and visible");
  cmd->add_option("--threads", *threads, "Worker threads (default: worker.threads, else cores)");
  cmd->add_option("--status-file", *status_file, "Write progress as JSON to this file");
  cmd->add_option("--status-interval-ms", *status_ms, "How often to write the status file");
  cmd->callback([=] {
    SignalWatcher signals;  // blocks SIGINT/SIGTERM before any thread starts
    setup_logging("worker");
    auto spec = load_or_exit(*opts);
    WorkerOptions wo;
    wo.threads = *threads;
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
