#include "tests/support/support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sleet::test {

namespace fs = std::filesystem;

TempDir::TempDir(const std::string& prefix) {
  const char* base = getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    throw std::runtime_error("bind failed");
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
}

static int decode_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

Child Child::spawn(const std::vector<std::string>& argv,
                   const std::map<std::string, std::string>& extra_env,
                   const std::string& stdout_path, const std::string& stderr_path) {
  sleet::Process::Options o;
  o.env = extra_env;
  o.stdout_path = stdout_path;
  o.stderr_path = stderr_path;
  auto p = sleet::Process::spawn(argv, o);
  if (!p.ok()) throw std::runtime_error(p.status().to_string());
  return Child(std::move(p).value());
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const std::map<std::string, std::string>& extra_env,
                          const std::string& stdin_data) {
  TempDir tmp("sleet-cmd");
  auto out = tmp.path() / "out", err = tmp.path() / "err", in = tmp.path() / "in";
  write_file(in, stdin_data);
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    for (auto& [k, v] : extra_env) setenv(k.c_str(), v.c_str(), 1);
    int fi = open(in.c_str(), O_RDONLY), fo = open(out.c_str(), O_WRONLY | O_CREAT, 0644),
        fe = open(err.c_str(), O_WRONLY | O_CREAT, 0644);
    dup2(fi, 0);
    dup2(fo, 1);
    dup2(fe, 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  CommandResult r;
  int st = 0;
  bool done = wait_until([&] { return waitpid(pid, &st, WNOHANG) == pid; }, timeout,
                         std::chrono::milliseconds(5));
  if (!done) {
    ::kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    r.status = -2;  // timed out
  } else {
    r.status = decode_status(st);
  }
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

ListeningSocket::ListeningSocket() {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 1) != 0)
    throw std::runtime_error("cannot listen on a loopback port");
  socklen_t len = sizeof a;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
}

ListeningSocket::~ListeningSocket() {
  if (fd_ >= 0) close(fd_);
}

void CollectingListener::on_task_snapshot(TaskSnapshotData&& d) {
  std::lock_guard lk(mu);
  CollectedSnapshot c;
  static_cast<TaskSnapshotData&>(c) = std::move(d);
  if (c.stateful && c.error.ok()) c.bytes = blobs.at(c.handle.location);
  got.push_back(std::move(c));
}

Result<BlobHandle> CollectingListener::write(CheckpointId id, const std::string& task_key,
                                             std::string_view bytes) {
  std::lock_guard lk(mu);
  BlobHandle h;
  h.location = "mem:" + std::to_string(id.value) + "/" + task_key;
  h.size = bytes.size();
  blobs[h.location] = std::string(bytes);
  return h;
}

std::vector<CollectedSnapshot> CollectingListener::of(int64_t id) {
  std::lock_guard lk(mu);
  std::vector<CollectedSnapshot> out;
  for (auto& d : got)
    if (d.id.value == id) out.push_back(d);
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << data;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::vector<std::string> part_file_lines(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string().rfind("part-", 0) != 0) continue;
    for (auto& l : split_lines(read_file(e.path()))) out.push_back(std::move(l));
  }
  return out;
}

std::map<std::string, int64_t> word_counts(const std::vector<std::string>& lines) {
  std::map<std::string, int64_t> m;
  for (auto& l : lines) {
    std::istringstream is(l);
    for (std::string w; is >> w;) ++m[w];
  }
  return m;
}

std::string running_count_mismatches(const std::vector<std::string>& lines,
                                     const std::map<std::string, int64_t>& expected) {
  std::map<std::string, std::vector<int64_t>> seen;
  std::ostringstream problems;
  int n = 0;
  auto note = [&](const std::string& what) {
    if (n++ < 5) problems << what << "\n";
  };
  for (auto& l : lines) {
    if (l.empty()) continue;
    auto tab = l.find('\t');
    if (tab == std::string::npos) {
      note("malformed line '" + l + "'");
      continue;
    }
    seen[l.substr(0, tab)].push_back(std::strtoll(l.c_str() + tab + 1, nullptr, 10));
  }
  for (auto& [w, c] : expected) {
    auto it = seen.find(w);
    std::vector<int64_t> got = it == seen.end() ? std::vector<int64_t>{} : it->second;
    std::sort(got.begin(), got.end());
    std::vector<int64_t> want(static_cast<size_t>(c));
    for (size_t i = 0; i < want.size(); ++i) want[i] = static_cast<int64_t>(i) + 1;
    if (got != want)
      note("word '" + w + "': expected counts 1.." + std::to_string(c) + ", got " +
           std::to_string(got.size()) + " records, max " +
           std::to_string(got.empty() ? 0 : got.back()));
  }
  for (auto& [w, v] : seen)
    if (!expected.count(w)) note("unexpected word '" + w + "'");
  if (n > 5) problems << "... " << (n - 5) << " more\n";
  return problems.str();
}

}  // namespace sleet::test
