// Shared test helpers: temp dirs that clean up, free loopback ports, child processes stopped by
// PID, and bounded waits. No test sleeps to synchronize: it polls a condition until a deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cluster/process.hpp"
#include "runtime/engine.hpp"

namespace sleet::test {

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "sleet-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close).
int free_port();

// Polls `pred` every few milliseconds until it returns true or `timeout` passes.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = std::chrono::milliseconds(20));

// A child process we started and will stop by its PID (never by name): the runtime's Process,
// with a spawn that throws (tests want a failure, not a Status to check).
class Child : public sleet::Process {
 public:
  Child() = default;
  Child(sleet::Process&& p) : sleet::Process(std::move(p)) {}
  // argv[0] is the executable path. stdout/stderr go to the given files ("" = inherit).
  static Child spawn(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& extra_env = {},
                     const std::string& stdout_path = "", const std::string& stderr_path = "");
};

// A socket listening on a free 127.0.0.1 port, closed on destruction: "port already in use".
class ListeningSocket {
 public:
  ListeningSocket();
  ~ListeningSocket();
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A task's ack as the test sees it: with the state bytes the task wrote through the listener's
// in-memory SnapshotWriter (empty when stateless).
struct CollectedSnapshot : TaskSnapshotData {
  std::string bytes;
};

// Keeps every task snapshot the engine hands over (the test plays the coordinator), and is the
// engine's snapshot writer too (blobs kept in memory, location "mem:<id>/<task_key>"): set both
// EngineOptions::listener and ::snapshots to it.
struct CollectingListener : SnapshotListener, SnapshotWriter {
  std::mutex mu;
  std::vector<CollectedSnapshot> got;
  std::map<std::string, std::string> blobs;  // location -> bytes
  void on_task_snapshot(TaskSnapshotData&& d) override;
  Result<BlobHandle> write(CheckpointId id, const std::string& task_key,
                           std::string_view bytes) override;
  std::vector<CollectedSnapshot> of(int64_t id);  // snapshots of checkpoint `id`
};

// Runs a command to completion (bounded), returning exit status and captured stdout.
struct CommandResult {
  int status = -1;
  std::string out;
  std::string err;
};
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const std::map<std::string, std::string>& extra_env = {},
                          const std::string& stdin_data = "");

std::string read_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, const std::string& data);

// The lines of `s` (without their '\n'), e.g. kcat's or a sink file's output.
std::vector<std::string> split_lines(const std::string& s);

// Every line of every `part-*` file in `dir` (FileSink output); none if `dir` does not exist.
std::vector<std::string> part_file_lines(const std::filesystem::path& dir);

// Word -> occurrences, over the whitespace-separated words of `lines`: the expectation for a
// wordcount topology, computed from the input alone.
std::map<std::string, int64_t> word_counts(const std::vector<std::string>& lines);

// WordCount emits (word, count) after every update, so exactly-once output holds, for every word
// w, the lines "w<TAB>1" .. "w<TAB>expected[w]" once each and no other word. Returns a description
// of the first few deviations (gaps, repeats, unexpected words); empty when the output is exact.
std::string running_count_mismatches(const std::vector<std::string>& lines,
                                     const std::map<std::string, int64_t>& expected);

}  // namespace sleet::test
