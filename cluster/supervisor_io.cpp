#include "cluster/supervisor_io.hpp"

#include "cluster/metrics.hpp"

#include <signal.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

namespace sleet::cluster {

std::string read_file_or_empty(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string last_lines(const std::filesystem::path& p, size_t n) {
  std::string all = read_file_or_empty(p);
  size_t pos = all.size();
  while (n-- > 0 && pos > 0) {
    pos = all.rfind('\n', pos - 2 < all.size() ? pos - 2 : 0);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
  }
  return all.substr(pos == 0 ? 0 : pos + 1);
}

ProcessWorkerLauncher::ProcessWorkerLauncher(std::vector<std::string> argv,
                                             std::filesystem::path log)
    : argv_(std::move(argv)), log_(std::move(log)) {}

Result<pid_t> ProcessWorkerLauncher::start() {
  Process::Options po;
  po.stderr_path = log_.string();
  po.stdout_path = log_.string();
  if (!restarts_.empty()) po.env["SLEET_RESTARTS"] = restarts_;
  auto p = Process::spawn(argv_, po);
  if (!p.ok()) return p.status();
  process_ = std::move(p).value();
  return process_.pid();
}

void ProcessWorkerLauncher::restarted(const std::string& reason) {
  std::string r = reason.substr(0, 300);
  for (char& ch : r)
    if (ch == '\n' || ch == '\t') ch = ' ';
  restarts_ += iso8601_utc(std::chrono::system_clock::now()) + "\t" + r + "\n";
  // The last 20 restarts are plenty for the page, and keep the environment small.
  while (std::count(restarts_.begin(), restarts_.end(), '\n') > 20)
    restarts_.erase(0, restarts_.find('\n') + 1);
}

void ProcessWorkerLauncher::kill() {
  process_.signal(SIGKILL);
}

// N workers are all asked first, so they stop together instead of one grace after another.
void ProcessWorkerLauncher::terminate() {
  if (process_.running()) process_.signal(SIGTERM);
}

void SteadyClock::sleep_for(std::chrono::milliseconds d) {
  std::this_thread::sleep_for(d);
}

}  // namespace sleet::cluster
