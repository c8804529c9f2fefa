// Shared pieces of the benchmarks: the embedded Kafka as a child process, generated input with its
// independently computed word counts, running a worker and watching its status file. Benchmarks
// print; this is not library code.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cluster/process.hpp"
#include "cluster/worker.hpp"

namespace bench {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline std::string read_file(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void die(const std::string& msg) {
  std::fprintf(stderr, "bench: %s\n", msg.c_str());
  std::exit(1);
}

inline double json_number(const std::string& json, const std::string& key, double def = -1) {
  return sleet::status_number(json, key, def);
}

// A fresh directory under /tmp, removed with its contents at exit (kept, for its logs, with
// SLEET_BENCH_KEEP=1).
struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/sleet-bench-XXXXXX";
    if (!mkdtemp(tmpl)) die("mkdtemp");
    path = tmpl;
  }
  ~TempDir() {
    if (const char* k = std::getenv("SLEET_BENCH_KEEP"); k && std::string(k) == "1") {
      std::fprintf(stderr, "bench: kept %s\n", path.c_str());
      return;
    }
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Runs `bash -c cmd`, returns stdout; dies on failure.
inline std::string sh(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) die("cannot run " + cmd);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  if (pclose(f) != 0) die("command failed: " + cmd);
  return out;
}

inline fs::path self_dir() {
  char b[4096];
  ssize_t n = readlink("/proc/self/exe", b, sizeof b - 1);
  if (n <= 0) die("readlink /proc/self/exe");
  return fs::path(std::string(b, static_cast<size_t>(n))).parent_path();
}

struct Paths {
  fs::path build = self_dir().parent_path();  // bench/ lives in the build tree
  fs::path source = SLEET_SOURCE_DIR;
  fs::path cli = build / "cli/sleet";
  fs::path plugins = build / "plugins";
};

// `sleet kafka` as a child process; the bootstrap address is its first stdout line.
struct Kafka {
  sleet::Process proc;
  std::string bootstrap;
  Kafka(const Paths& p, const fs::path& dir, const std::string& topic, int partitions) {
    sleet::Process::Options o;
    o.stdout_path = (dir / "kafka.out").string();
    o.stderr_path = (dir / "kafka.err").string();
    auto r = sleet::Process::spawn(
        {p.cli.string(), "kafka", "--topic", topic + ":" + std::to_string(partitions)}, o);
    if (!r.ok()) die(r.status().to_string());
    proc = std::move(r).value();
    auto deadline = Clock::now() + 30s;
    while (Clock::now() < deadline) {
      std::string out = read_file(dir / "kafka.out");
      if (auto nl = out.find('\n'); nl != std::string::npos) {
        bootstrap = out.substr(0, nl);
        return;
      }
      std::this_thread::sleep_for(10ms);
    }
    die("sleet kafka did not print its address");
  }
};

// N 8-word sentences from examples/wordcount/make_input.sh, produced round robin into the
// partitions with kcat; word counts computed here, independently of Sleet.
struct Input {
  fs::path file;
  int64_t sentences = 0, words = 0;
  std::map<std::string, int64_t> counts;
  Input(const Paths& p, const fs::path& dir, int64_t n, const std::string& bootstrap,
        const std::string& topic, int partitions) {
    file = dir / "input.txt";
    sh((p.source / "examples/wordcount/make_input.sh").string() + " " + std::to_string(n) + " > " +
       file.string());
    std::vector<std::ofstream> parts;
    for (int i = 0; i < partitions; ++i) parts.emplace_back(dir / ("part" + std::to_string(i)));
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      parts[sentences % partitions] << line << '\n';
      ++sentences;
      std::istringstream is(line);
      std::string w;
      while (is >> w) {
        ++counts[w];
        ++words;
      }
    }
    for (auto& f : parts) f.close();
    for (int i = 0; i < partitions; ++i)
      sh("kcat -P -b " + bootstrap + " -t " + topic + " -p " + std::to_string(i) +
         " -X linger.ms=20 < " + (dir / ("part" + std::to_string(i))).string());
  }
};

// Max running count per word over FileSink tsv output (word \t count): must equal the input's.
inline bool check_counts(const fs::path& out_dir, const std::map<std::string, int64_t>& want,
                         std::string& why) {
  std::map<std::string, int64_t> best;
  int64_t lines = 0;
  for (auto& e : fs::directory_iterator(out_dir)) {
    if (e.path().filename().string().rfind("part-", 0) != 0) continue;
    std::ifstream f(e.path());
    std::string w;
    int64_t c;
    while (f >> w >> c) {
      best[w] = std::max(best[w], c);
      ++lines;
    }
  }
  int64_t total = 0;
  for (auto& [w, c] : want) total += c;
  if (best != want) {
    why = "final counts differ from the input's";
    return false;
  }
  if (lines != total) {
    why = std::to_string(lines) + " output records for " + std::to_string(total) + " words";
    return false;
  }
  return true;
}

// Peak resident set of a running process (VmHWM), in MiB; -1 when gone.
inline double peak_rss_mb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  return -1;
}

// CPU seconds (user + system, all threads) a running process has used so far; -1 when gone.
inline double cpu_seconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream is(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && is >> field; ++i)
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace bench
