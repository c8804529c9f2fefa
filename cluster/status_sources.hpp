// Where `sleet status` gets its report (cluster/status_view.hpp) from: the state dir of a
// `sleet run`, or ZooKeeper and the workers' metrics endpoints. Never a stale file: a state dir's
// status files count only when written since the run that holds (or last held) its lock started,
// and a stopped run is reported as stopped, with the time it stopped.
//
// Library code: returns errors as values (cli/cmd_status.cpp turns them into exit codes). Called
// on the command's thread; blocking, every wait bounded.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include <sleet/status.hpp>

#include "cluster/status_view.hpp"

namespace sleet::zk {
class Client;
}

namespace sleet::cluster {

// The state dir `sleet status [NAME]` means without --state-dir: the current directory when it
// is a state dir (holds .sleet-state) of NAME (or of any topology without NAME), else
// sleet-state/NAME (`sleet run`'s default), else the only state dir under sleet-state/.
// not_found (reason and way out) when there is none.
[[nodiscard]] Result<std::filesystem::path> find_state_dir(const std::string& name);

// The report of the run in `dir`: not_found when `dir` is no state dir or no run ever used it
// (no lock file), invalid_argument when its marker names another topology than `name` (if set).
[[nodiscard]] Result<StatusReport> state_dir_report(const std::filesystem::path& dir,
                                                    const std::string& name);

// Whether the process `pid` holds `lock_path` open (its /proc fds). When its fds cannot be read
// (another user's process), whether it is alive.
bool process_holds(pid_t pid, const std::filesystem::path& lock_path);

// GET http://host:port/path with a deadline for the whole exchange; the body of a 200 reply.
// host:port as a worker's ZooKeeper entry and "metrics_url" give it.
[[nodiscard]] Result<std::string> http_get(const std::string& host_port, const std::string& path,
                                           std::chrono::milliseconds deadline);

// The report of topology `name` under `root`: its live workers (workers/<id>, their `metrics`
// host:port), each one's GET /api/status, and the committed checkpoint. not_found when the
// topology does not exist under root.
[[nodiscard]] Result<StatusReport> zookeeper_report(zk::Client& zk, const std::string& connect,
                                                    const std::string& root,
                                                    const std::string& name,
                                                    std::chrono::milliseconds http_deadline);

}  // namespace sleet::cluster
