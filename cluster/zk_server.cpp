#include "cluster/zk_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace sleet {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// Closes a socket on scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  return a;
}

// Binds 127.0.0.1:port the way the server will (SO_REUSEADDR, so sockets in TIME_WAIT from a
// previous run do not count); port 0 asks the kernel for a free one. Returns the port or -errno.
int probe_port(int port) {
  Fd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.fd < 0) return -errno;
  int one = 1;
  setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = loopback(port);
  if (bind(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -errno;
  socklen_t len = sizeof a;
  if (getsockname(s.fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return -errno;
  return ntohs(a.sin_port);
}

std::string tail_of(const fs::path& p, size_t max_bytes) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return "";
  f.seekg(0, std::ios::end);
  auto size = static_cast<size_t>(f.tellg());
  size_t from = size > max_bytes ? size - max_bytes : 0;
  f.seekg(static_cast<std::streamoff>(from));
  std::string s(size - from, '\0');
  f.read(s.data(), static_cast<std::streamsize>(s.size()));
  return s;
}

bool log_says_port_in_use(const fs::path& log) {
  return tail_of(log, 64 * 1024).find("Address already in use") != std::string::npos;
}

Status write_config(const fs::path& dir, int port) {
  std::error_code ec;
  fs::create_directories(dir / "data", ec);
  if (ec) return Status::IoError("cannot create " + (dir / "data").string() + ": " + ec.message());
  std::ofstream f(dir / "zoo.cfg", std::ios::trunc);
  // tickTime 500 ms lets sessions be as short as 1 s (tests of expiry) and as long as 60 s.
  // maxClientCnxns=0: every worker of a local cluster connects from 127.0.0.1, and the default
  // limit of 60 connections per address would refuse the 61st.
  f << "# written by sleet (EmbeddedZooKeeper); rewritten on every start\n"
    << "tickTime=500\n"
    << "minSessionTimeout=1000\n"
    << "maxSessionTimeout=60000\n"
    << "dataDir=" << fs::absolute(dir / "data").string() << "\n"
    << "clientPort=" << port << "\n"
    << "clientPortAddress=127.0.0.1\n"
    << "maxClientCnxns=0\n"
    << "admin.enableServer=false\n"
    << "4lw.commands.whitelist=ruok,srvr\n"
    << "preAllocSize=4096\n"
    << "autopurge.snapRetainCount=3\n"
    << "autopurge.purgeInterval=1\n";
  f.close();
  if (!f) return Status::IoError("cannot write " + (dir / "zoo.cfg").string());
  return Status::Ok();
}

// Whether `java` names an executable: a path with a '/' as given, else the first match on PATH
// (what execvp will run). Checked before spawning so a missing Java is a clear not_found rather
// than a child that failed to exec.
bool java_found(const std::string& java) {
  if (java.find('/') != std::string::npos) return access(java.c_str(), X_OK) == 0;
  const char* path = getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    std::string d =
        dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (d.empty()) d = ".";
    if (access((d + "/" + java).c_str(), X_OK) == 0) return true;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return false;
}

}  // namespace

EmbeddedZooKeeper::Settings EmbeddedZooKeeper::Settings::from_environment() {
  Settings s;
  if (const char* v = getenv("SLEET_JAVA"); v && *v) s.java = v;
  if (const char* v = getenv("SLEET_ZOOKEEPER_JAR"); v && *v) s.jar = v;
  return s;
}

Result<std::string> EmbeddedZooKeeper::four_letter(int port, const std::string& cmd,
                                                   milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  auto left_ms = [&] {
    auto d = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(d < 0 ? 0 : d);
  };
  Fd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (s.fd < 0) return Status::IoError(std::string("socket: ") + strerror(errno));
  sockaddr_in a = loopback(port);
  if (connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS)
    return Status::Unavailable("connect to 127.0.0.1:" + std::to_string(port) + ": " +
                               strerror(errno));
  pollfd p{s.fd, POLLOUT, 0};
  if (poll(&p, 1, left_ms()) <= 0)
    return Status::Unavailable("connect to 127.0.0.1:" + std::to_string(port) + " timed out");
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0)
    return Status::Unavailable("connect to 127.0.0.1:" + std::to_string(port) + ": " +
                               strerror(err));
  if (send(s.fd, cmd.data(), cmd.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(cmd.size()))
    return Status::Unavailable("send to 127.0.0.1:" + std::to_string(port) + " failed");
  std::string reply;
  char buf[4096];
  while (true) {
    p = {s.fd, POLLIN, 0};
    if (poll(&p, 1, left_ms()) <= 0)
      return Status::Unavailable("no reply to '" + cmd +
                                 "' from 127.0.0.1:" + std::to_string(port));
    ssize_t n = recv(s.fd, buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      if (!reply.empty()) break;
      return Status::Unavailable("recv from 127.0.0.1:" + std::to_string(port) + ": " +
                                 strerror(errno));
    }
    reply.append(buf, static_cast<size_t>(n));
  }
  return reply;
}

Result<std::unique_ptr<EmbeddedZooKeeper>> EmbeddedZooKeeper::start(const fs::path& dir, int port,
                                                                    milliseconds deadline) {
  return start(dir, port, deadline, Settings::from_environment());
}

Result<std::unique_ptr<EmbeddedZooKeeper>> EmbeddedZooKeeper::start(const fs::path& dir, int port,
                                                                    milliseconds deadline,
                                                                    const Settings& settings) {
  if (port < 0 || port > 65535)
    return Status::Invalid("bad ZooKeeper port " + std::to_string(port));
  std::error_code ec;
  // One line each, naming the package: `sleet run` prints it as the cause of a failed start.
  if (!fs::exists(settings.jar, ec))
    return Status::NotFound("ZooKeeper server jar " + settings.jar +
                            " not found: install the Debian package zookeeper (sudo apt-get "
                            "install zookeeper) or point SLEET_ZOOKEEPER_JAR at zookeeper.jar");
  if (!java_found(settings.java))
    return Status::NotFound("Java runtime '" + settings.java +
                            "' not found: install the Debian package default-jre-headless (sudo "
                            "apt-get install default-jre-headless) or point SLEET_JAVA at java");
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir.string() + ": " + ec.message());

  auto until = Clock::now() + deadline;
  // With port 0 another process may take the port we picked before the JVM binds it: pick again.
  for (int attempt = 0;; ++attempt) {
    int p = probe_port(port);
    if (p < 0) {
      if (port != 0 && -p == EADDRINUSE)
        return Status::Unavailable("cannot start ZooKeeper: port " + std::to_string(port) +
                                   " on 127.0.0.1 is already in use");
      return Status::IoError("cannot bind 127.0.0.1:" + std::to_string(port) + ": " + strerror(-p));
    }
    auto zk = std::make_unique<EmbeddedZooKeeper>(Key{}, fs::absolute(dir), p, settings);
    auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
    Status st = zk->launch(left);
    if (st.ok()) return zk;
    bool lost_race = port == 0 && attempt < 3 && log_says_port_in_use(zk->log_path());
    if (!lost_race) return st;
  }
}

Status EmbeddedZooKeeper::launch(milliseconds deadline) {
  auto until = Clock::now() + deadline;
  SLEET_RETURN_IF_ERROR(write_config(dir_, port_));
  std::string cp = settings_.conf_dir + ":" + settings_.jar;
  std::error_code ec;
  if (!settings_.log_binding.empty() && fs::exists(settings_.log_binding, ec))
    cp += ":" + settings_.log_binding;
  std::vector<std::string> argv = {
      settings_.java,
      "-Xmx" + std::to_string(settings_.max_heap_mb) + "m",
      "-Xms32m",
      "-Xss512k",
      // Small and quick to start: one GC thread, C1 only (the server is never hot enough to
      // profit from C2 in tests or a local cluster).
      "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1",
      // Out of memory, a server is broken (threads die, the port closes) but may linger; exit
      // so that whoever supervises it sees the death and restarts it.
      "-XX:+ExitOnOutOfMemoryError",
      "-Djava.awt.headless=true",
      "-Dzookeeper.admin.enableServer=false",
      // Requests may be ~1 MB each: cap how many the server holds in its pipeline (it stops
      // reading from clients beyond that) so a burst cannot exhaust the heap.
      "-Dzookeeper.globalOutstandingLimit=100",
      "-Dzookeeper.jmx.log4j.disable=true",
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
      "-Dorg.slf4j.simpleLogger.showDateTime=true",
      "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss.SSS",
      "-cp",
      cp,
      "org.apache.zookeeper.server.ZooKeeperServerMain",
      (dir_ / "zoo.cfg").string(),
  };
  Process::Options o;
  o.stdout_path = log_path().string();
  o.stderr_path = log_path().string();
  o.cwd = dir_.string();
  auto p = Process::spawn(argv, o);
  if (!p.ok()) {
    return Status(p.status().code(), "cannot start ZooKeeper: " + p.status().message() +
                                         " (is a Java runtime installed?)");
  }
  process_ = std::move(p).value();

  while (true) {
    if (!process_.running()) {
      int code = process_.exit_status().value_or(-1);
      std::string why = log_says_port_in_use(log_path())
                            ? "port " + std::to_string(port_) + " on 127.0.0.1 is already in use"
                            : "the server " + describe_exit(code);
      return Status::Unavailable("ZooKeeper did not start: " + why + "; end of " +
                                 log_path().string() + ":\n" + tail_of(log_path(), 2000));
    }
    auto r = four_letter(port_, "ruok", milliseconds(500));
    if (r.ok() && *r == "imok") return Status::Ok();
    if (Clock::now() >= until) {
      process_.stop(milliseconds(2000));
      return Status::Unavailable("ZooKeeper on 127.0.0.1:" + std::to_string(port_) +
                                 " did not answer within " + std::to_string(deadline.count()) +
                                 " ms; end of " + log_path().string() + ":\n" +
                                 tail_of(log_path(), 2000));
    }
    std::this_thread::sleep_for(milliseconds(25));
  }
}

bool EmbeddedZooKeeper::running() {
  return process_.running();
}

Status EmbeddedZooKeeper::stop(milliseconds grace) {
  if (process_.pid() <= 0 || !process_.running()) {
    process_ = Process();
    return Status::Ok();
  }
  process_.stop(grace);  // SIGTERM, bounded wait, SIGKILL, reap
  process_ = Process();
  return Status::Ok();
}

Status EmbeddedZooKeeper::kill() {
  if (process_.pid() > 0 && process_.running()) {
    process_.signal(SIGKILL);
    process_.wait(milliseconds(10000));
  }
  process_ = Process();
  return Status::Ok();
}

Status EmbeddedZooKeeper::restart(milliseconds deadline) {
  SLEET_RETURN_IF_ERROR(stop());
  auto until = Clock::now() + deadline;
  // The old JVM is reaped, so its listening socket is closed; SO_REUSEADDR ignores TIME_WAIT.
  while (probe_port(port_) < 0) {
    if (Clock::now() >= until)
      return Status::Unavailable("cannot restart ZooKeeper: port " + std::to_string(port_) +
                                 " on 127.0.0.1 is in use");
    std::this_thread::sleep_for(milliseconds(20));
  }
  auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
  return launch(left);
}

EmbeddedZooKeeper::~EmbeddedZooKeeper() {
  (void)stop();
}

}  // namespace sleet
