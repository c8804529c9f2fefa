// Each CLI command lives in its own cmd_*.cpp and registers itself on the app. The CLI is the only
// place that turns Status into exit codes and prints; it throws CLI::RuntimeError(code) to exit.
#pragma once

#include <CLI/CLI.hpp>

namespace sleet::cli {

// Exit codes shared by all commands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;  // bad topology file or bad arguments

void register_kafka(CLI::App& app);     // cmd_kafka.cpp: embedded Kafka as a process
void register_validate(CLI::App& app);  // cmd_validate.cpp: validate, graph, list-components
void register_worker(CLI::App& app);    // cmd_worker.cpp: one worker process running a topology
void register_run(CLI::App& app);       // cmd_run.cpp: local cluster supervisor
void register_cluster(CLI::App& app);   // cmd_cluster.cpp: submit, list, kill
void register_status(CLI::App& app);    // cmd_status.cpp: what a topology is doing

}  // namespace sleet::cli
