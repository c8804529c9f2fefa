#include "cluster/state_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sleet::cluster {

namespace fs = std::filesystem;

const std::vector<std::string>& state_dir_own_entries() {
  // Keep in step with run() (cmd_run.cpp) and docs/running.md. The marker and the lock are never
  // removed by a fresh start: they are what makes the directory Sleet's.
  static const std::vector<std::string> names = {kStateMarker,  kStateLock,        "zookeeper",
                                                 "checkpoints", "worker.log",      "worker.log.1",
                                                 "status.json", "status.json.tmp", "workers"};
  return names;
}

namespace {
bool own(const std::string& name) {
  auto& o = state_dir_own_entries();
  return std::find(o.begin(), o.end(), name) != o.end();
}
}  // namespace

StateDirDecision decide_state_dir(const StateDirFindings& found, const std::string& topology,
                                  bool fresh) {
  StateDirDecision d;
  auto refuse = [&](std::string reason, std::string way_out) {
    d.action = StateDirDecision::Action::refuse;
    d.reason = std::move(reason);
    d.way_out = std::move(way_out);
    d.remove.clear();
    return d;
  };
  if (!found.exists) return d;
  if (!found.is_directory)
    return refuse("it exists and is not a directory", "give --state-dir a new or empty directory");
  // Unmarked, only the lock may be there (a run that died between taking the lock and writing
  // the marker). Entries that merely carry Sleet's names ("zookeeper", "checkpoints") are not
  // known to be Sleet's without the marker, and a fresh start would delete them.
  std::vector<std::string> foreign;
  for (auto& e : found.entries)
    if (found.marker_topology ? !own(e) : e != kStateLock) foreign.push_back(e);
  if (!found.marker_topology && !foreign.empty()) {
    std::string some;
    for (size_t i = 0; i < foreign.size() && i < 3; ++i) some += (i ? ", " : "") + foreign[i];
    if (foreign.size() > 3) some += ", ...";
    return refuse("it is not empty (" + some + ") and has no " + std::string(kStateMarker) +
                      " marker, so it is not a Sleet state directory; Sleet deletes nothing it "
                      "did not create",
                  "give --state-dir a new or empty directory (e.g. sleet-state/" + topology + ")");
  }
  if (found.marker_topology && *found.marker_topology != topology)
    return refuse("it is the state directory of topology '" + *found.marker_topology +
                      "', not of '" + topology + "'",
                  "give --state-dir another directory, or remove this one yourself if topology '" +
                      *found.marker_topology + "' is done with it");
  if (fresh)
    for (auto& e : found.entries)
      if (own(e) && e != kStateMarker && e != kStateLock) d.remove.push_back(e);
  return d;
}

StateDirFindings inspect_state_dir(const fs::path& dir) {
  StateDirFindings f;
  std::error_code ec;
  auto st = fs::status(dir, ec);
  f.exists = !ec && fs::exists(st);
  f.is_directory = f.exists && fs::is_directory(st);
  if (!f.is_directory) return f;
  for (auto& e : fs::directory_iterator(dir, ec)) f.entries.push_back(e.path().filename().string());
  std::sort(f.entries.begin(), f.entries.end());
  std::ifstream m(dir / kStateMarker);
  if (m) {
    std::string line, name;
    while (std::getline(m, line))
      if (line.rfind("topology: ", 0) == 0) name = line.substr(10);
    f.marker_topology = name;
  }
  return f;
}

StateDirLock& StateDirLock::operator=(StateDirLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

StateDirLock::~StateDirLock() {
  if (fd_ >= 0) close(fd_);  // releases the flock
}

Result<StateDirLock> prepare_state_dir(const fs::path& dir, const std::string& topology,
                                       bool fresh) {
  StateDirDecision d = decide_state_dir(inspect_state_dir(dir), topology, fresh);
  if (d.action == StateDirDecision::Action::refuse)
    return Status::Invalid("refusing state directory " + dir.string() + ": " + d.reason + "; " +
                           d.way_out);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return Status::IoError("cannot create state directory " + dir.string() + ": " + ec.message());
  const fs::path lock_path = dir / kStateLock;
  int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return Status::IoError("cannot open " + lock_path.string() + ": " + std::strerror(errno));
  StateDirLock lock(fd);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return Status(Code::already_exists,
                  "state directory " + dir.string() + " is in use by another sleet run" +
                      (holder.empty() ? "" : " (pid " + holder + ")") +
                      "; stop that one first, or give this run another --state-dir");
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The pid is only for the message of a refused second run; the lock holds without it.
  }
  // Decided before the lock was ours: decide again now that no other run can change the dir.
  d = decide_state_dir(inspect_state_dir(dir), topology, fresh);
  if (d.action == StateDirDecision::Action::refuse)
    return Status::Invalid("refusing state directory " + dir.string() + ": " + d.reason + "; " +
                           d.way_out);
  {
    std::ofstream m(dir / kStateMarker, std::ios::trunc);
    m << "topology: " << topology << "\n"
      << "# sleet run state directory; a fresh start removes only Sleet's own entries here\n";
    if (!m) return Status::IoError("cannot write " + (dir / kStateMarker).string());
  }
  for (auto& e : d.remove) {
    fs::remove_all(dir / e, ec);
    if (ec) return Status::IoError("cannot remove " + (dir / e).string() + ": " + ec.message());
  }
  if (fs::exists(dir / "worker.log", ec)) fs::rename(dir / "worker.log", dir / "worker.log.1", ec);
  fs::remove(dir / "status.json", ec);  // a previous run's status must never look like ours
  return lock;
}

}  // namespace sleet::cluster
