#include "tests/support/netns.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace sleet::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// The namespace the process started in, opened by the first enter_fresh_netns() (close-on-exec:
// children never hold it). -1 before.
int g_host_ns_fd = -1;
std::string g_entered_id;  // the namespace the last enter_fresh_netns() made

std::string errno_text(int e) {
  return std::strerror(e);
}

std::string ns_id_of(const std::string& path) {
  std::error_code ec;
  auto target = fs::read_symlink(path, ec);
  return ec ? "" : target.string();
}

size_t thread_count() {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc/self/task", ec); !ec && it != fs::end(it);
       it.increment(ec))
    ++n;
  return n;
}

int decode(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

bool parse_ip(const std::string& ip, in_addr& out) {
  return inet_pton(AF_INET, ip.c_str(), &out) == 1;
}

}  // namespace

Status enter_fresh_netns() {
  if (size_t n = thread_count(); n != 1)
    return Status::Internal(
        "cannot enter a fresh network namespace: this process runs " + std::to_string(n) +
        " threads, and unshare(CLONE_NEWNET) moves only the calling one (the others would stay "
        "in the host's namespace); call it at the top of the test, before anything starts a "
        "thread (a Kafka client, a mock cluster, a thread pool)");
  if (g_host_ns_fd < 0) {
    g_host_ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (g_host_ns_fd < 0)
      return Status::IoError("cannot open /proc/self/ns/net: " + errno_text(errno));
  }
  if (unshare(CLONE_NEWNET) != 0) {
    int e = errno;
    return Status::Internal(
        "unshare(CLONE_NEWNET) failed: " + errno_text(e) +
        (e == EPERM ? " (needs root, or CAP_SYS_ADMIN; the e2e tests run as root, e.g. in the "
                      "project's container; in a rootless container start the suite under "
                      "`unshare -r -n`)"
                    : ""));
  }
  g_entered_id = netns_id();
  auto r = run_command({"ip", "link", "set", "lo", "up"}, 10s);
  if (r.status != 0)
    return Status::Internal("in the fresh network namespace, `ip link set lo up` " +
                            (r.status == -2 ? std::string("did not finish within 10 s")
                                            : "exited " + std::to_string(r.status)) +
                            ": " + r.err + " (is iproute2 installed? scripts/test installs it)");
  // glibc's getaddrinfo with AI_ADDRCONFIG (librdkafka's resolver, which also asks for AF_INET
  // under broker.address.family=v4) finds "no IPv4 configured" when 127.0.0.1 is the only IPv4
  // address (its check skips exactly that one) and fails even a numeric "127.0.0.1:port" with
  // "Name or service not known". A second loopback address on lo makes IPv4 count.
  r = run_command({"ip", "addr", "add", "127.0.0.2/8", "dev", "lo"}, 10s);
  if (r.status != 0)
    return Status::Internal("in the fresh network namespace, `ip addr add 127.0.0.2/8 dev lo` " +
                            (r.status == -2 ? std::string("did not finish within 10 s")
                                            : "exited " + std::to_string(r.status)) +
                            ": " + r.err);
  return Status::Ok();
}

bool in_fresh_netns() {
  return g_host_ns_fd >= 0 && !g_entered_id.empty() && netns_id() == g_entered_id &&
         netns_id() != host_netns_id();
}

std::string netns_id() {
  return ns_id_of("/proc/thread-self/ns/net");
}

std::string host_netns_id() {
  if (g_host_ns_fd < 0) return netns_id();
  return ns_id_of("/proc/self/fd/" + std::to_string(g_host_ns_fd));
}

CommandResult run_in_host_netns(const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout) {
  if (g_host_ns_fd < 0) throw std::runtime_error("run_in_host_netns before enter_fresh_netns");
  TempDir tmp("sleet-hostns");
  auto out = tmp.path() / "out", err = tmp.path() / "err";
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork: " + errno_text(errno));
  if (pid == 0) {
    // The child is single-threaded, so setns moves all of it; exec keeps the namespace.
    setpgid(0, 0);
    int fo = open(out.c_str(), O_WRONLY | O_CREAT, 0644),
        fe = open(err.c_str(), O_WRONLY | O_CREAT, 0644), fi = open("/dev/null", O_RDONLY);
    dup2(fi, 0);
    dup2(fo, 1);
    dup2(fe, 2);
    if (setns(g_host_ns_fd, CLONE_NEWNET) != 0) {
      dprintf(2, "setns: %s\n", strerror(errno));
      _exit(126);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  CommandResult r;
  int st = 0;
  bool done = wait_until([&] { return waitpid(pid, &st, WNOHANG) == pid; }, timeout, 5ms);
  if (!done) {
    ::kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    r.status = -2;
  } else {
    r.status = decode(st);
  }
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

TcpListener::TcpListener(const std::string& ip) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (!parse_ip(ip, a.sin_addr)) throw std::runtime_error("not an IPv4 address: " + ip);
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 8) != 0) {
    std::string e = errno_text(errno);
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    throw std::runtime_error("cannot listen on " + ip + ": " + e);
  }
  socklen_t len = sizeof a;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
}

TcpListener::~TcpListener() {
  if (fd_ >= 0) close(fd_);
}

int TcpListener::accept_one(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) return -1;
  return accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
}

const char* to_string(ConnectOutcome o) {
  switch (o) {
    case ConnectOutcome::connected:
      return "connected";
    case ConnectOutcome::refused:
      return "refused";
    case ConnectOutcome::timed_out:
      return "timed out";
    default:
      return "error";
  }
}

ConnectOutcome tcp_connect(const std::string& from_ip, const std::string& to_ip, int port,
                           std::chrono::milliseconds timeout, int* fd_out) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  if (!parse_ip(to_ip, to.sin_addr)) return ConnectOutcome::error;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ConnectOutcome::error;
  auto fail = [&](ConnectOutcome o) {
    close(fd);
    return o;
  };
  if (!from_ip.empty()) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    if (!parse_ip(from_ip, from.sin_addr) ||
        bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0)
      return fail(ConnectOutcome::error);
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    if (errno == ECONNREFUSED) return fail(ConnectOutcome::refused);
    if (errno != EINPROGRESS) return fail(ConnectOutcome::error);
    pollfd p{fd, POLLOUT, 0};
    int n = poll(&p, 1, static_cast<int>(timeout.count()));
    if (n == 0) return fail(ConnectOutcome::timed_out);
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
      return fail(ConnectOutcome::error);
    if (soerr == ECONNREFUSED) return fail(ConnectOutcome::refused);
    if (soerr == ETIMEDOUT) return fail(ConnectOutcome::timed_out);
    if (soerr != 0) return fail(ConnectOutcome::error);
  }
  if (fd_out)
    *fd_out = fd;
  else
    close(fd);
  return ConnectOutcome::connected;
}

std::string read_some(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) return "";
  char buf[4096];
  ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

LinkCut::LinkCut(std::string a, std::string b) : a_(std::move(a)), b_(std::move(b)) {
  in_addr tmp{};
  if (!parse_ip(a_, tmp) || !parse_ip(b_, tmp))
    throw std::runtime_error("LinkCut needs two IPv4 addresses, got '" + a_ + "' and '" + b_ + "'");
  if (!in_fresh_netns())
    throw std::runtime_error(
        "LinkCut refuses to add iptables rules outside a fresh network namespace (call "
        "enter_fresh_netns() first): they would cut the host's own traffic");
  static std::atomic<int> counter{0};
  tag_ = "sleet-linkcut-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
  std::vector<std::vector<std::string>> added;
  for (auto& rule : rules()) {
    std::vector<std::string> argv = {"iptables", "-w", "5", "-I"};
    argv.insert(argv.end(), rule.begin(), rule.end());
    auto r = run_command(argv, 15s);
    if (r.status != 0) {
      for (auto& done : added) {
        std::vector<std::string> del = {"iptables", "-w", "5", "-D"};
        del.insert(del.end(), done.begin(), done.end());
        (void)run_command(del, 15s);
      }
      throw std::runtime_error("iptables -I " + rule[0] + " for the cut " + a_ + " <-> " + b_ +
                               " exited " + std::to_string(r.status) + ": " + r.err +
                               " (is iptables installed? scripts/test installs it)");
    }
    added.push_back(rule);
  }
  active_ = true;
}

LinkCut::~LinkCut() {
  (void)heal();
}

std::vector<std::vector<std::string>> LinkCut::rules() const {
  std::vector<std::vector<std::string>> out;
  for (const char* chain : {"INPUT", "OUTPUT"})
    for (auto [s, d] : {std::pair{a_, b_}, std::pair{b_, a_}})
      out.push_back(
          {chain, "-s", s, "-d", d, "-p", "tcp", "-m", "comment", "--comment", tag_, "-j", "DROP"});
  return out;
}

int64_t LinkCut::dropped_packets() const {
  if (!active_) return -1;
  auto r = run_command({"iptables", "-w", "5", "-S", "-v"}, 15s);
  if (r.status != 0) return -1;
  int64_t total = 0;
  // "-A INPUT -s 127.0.0.10/32 ... --comment TAG -c PKTS BYTES -j DROP"
  for (auto& line : split_lines(r.out)) {
    if (line.find(" " + tag_ + " ") == std::string::npos) continue;
    auto c = line.find(" -c ");
    if (c == std::string::npos) return -1;
    total += std::strtoll(line.c_str() + c + 4, nullptr, 10);
  }
  return total;
}

Status LinkCut::heal() {
  if (!active_) return Status::Ok();
  active_ = false;
  std::string failed;
  for (auto& rule : rules()) {
    std::vector<std::string> argv = {"iptables", "-w", "5", "-D"};
    argv.insert(argv.end(), rule.begin(), rule.end());
    auto r = run_command(argv, 15s);
    if (r.status != 0)
      failed += " " + rule[0] + " -s " + rule[2] + " -d " + rule[4] + " (" + r.err + ")";
  }
  if (!failed.empty())
    return Status::Internal("healing the cut " + a_ + " <-> " + b_ + " (" + tag_ +
                            "): iptables -D failed for" + failed);
  return Status::Ok();
}

}  // namespace sleet::test
