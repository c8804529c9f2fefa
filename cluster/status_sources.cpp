#include "cluster/status_sources.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "checkpointing/checkpoint_store.hpp"
#include "cluster/state_dir.hpp"
#include "cluster/submission.hpp"
#include "coordination/zk_client.hpp"

namespace sleet::cluster {

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::time_t mtime_of(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? st.st_mtime : 0;
}

// "topology: NAME\n..." -> NAME ("" if none).
std::string marker_topology(const fs::path& dir) {
  std::string m = read_text(dir / kStateMarker);
  auto p = m.find("topology: ");
  if (p == std::string::npos) return "";
  auto e = m.find('\n', p);
  return m.substr(p + 10, e == std::string::npos ? std::string::npos : e - p - 10);
}

bool is_state_dir(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / kStateMarker, ec);
}

bool pid_alive(pid_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

// A status line's number `key` (the status files are JSON; an unreadable one is skipped).
std::optional<JsonValue> read_doc(const fs::path& p, std::string* error) {
  std::string text = read_text(p);
  if (text.empty()) {
    *error = "cannot read " + p.string();
    return std::nullopt;
  }
  auto doc = parse_json(text);
  if (!doc.ok()) {
    *error = p.string() + ": " + doc.status().message();
    return std::nullopt;
  }
  return std::move(doc).value();
}

// Splits "host:port"; false if malformed.
bool split_host_port(const std::string& hp, std::string& host, std::string& port) {
  auto c = hp.rfind(':');
  if (c == std::string::npos || c == 0 || c + 1 == hp.size()) return false;
  host = hp.substr(0, c);
  port = hp.substr(c + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return true;
}

// "http://h:p/..." or "h:p" -> "h:p".
std::string host_port_of(std::string url) {
  if (url.rfind("http://", 0) == 0) url = url.substr(7);
  if (auto s = url.find('/'); s != std::string::npos) url = url.substr(0, s);
  return url;
}

// Decodes a chunked body (RFC 9112 7.1); what was received up to a malformed chunk.
std::string dechunk(const std::string& body) {
  std::string out;
  size_t p = 0;
  while (p < body.size()) {
    size_t eol = body.find("\r\n", p);
    if (eol == std::string::npos) break;
    size_t n = std::strtoul(body.substr(p, eol - p).c_str(), nullptr, 16);
    if (n == 0) break;
    p = eol + 2;
    out += body.substr(p, n);
    p += n + 2;
  }
  return out;
}

}  // namespace

Result<fs::path> find_state_dir(const std::string& name) {
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  if (!ec && is_state_dir(cwd) && (name.empty() || marker_topology(cwd) == name)) return cwd;
  const fs::path base = "sleet-state";
  if (!name.empty()) {
    if (is_state_dir(base / name)) return base / name;
    return Status::NotFound("no state dir of topology '" + name + "' here (looked for " +
                            (base / name).string() + " and a state dir as the current directory)" +
                            "; pass the one `sleet run --state-dir` used with --state-dir DIR, "
                            "or ask ZooKeeper with --zookeeper HOST:PORT");
  }
  std::vector<fs::path> found;
  for (auto& e : fs::directory_iterator(base, ec))
    if (e.is_directory() && is_state_dir(e.path())) found.push_back(e.path());
  if (found.size() == 1) return found.front();
  if (found.empty())
    return Status::NotFound(
        "no `sleet run` state dir here (neither the current directory nor sleet-state/<name>); "
        "run `sleet status` where `sleet run` was started, or pass --state-dir DIR or "
        "--zookeeper HOST:PORT");
  std::string names;
  for (auto& f : found) names += (names.empty() ? "" : ", ") + f.filename().string();
  return Status::Invalid("more than one state dir under sleet-state/ (" + names +
                         "); name the topology: `sleet status NAME`");
}

bool process_holds(pid_t pid, const fs::path& lock_path) {
  if (!pid_alive(pid)) return false;
  std::error_code ec;
  const fs::path want = fs::weakly_canonical(lock_path, ec);
  fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec);
  if (ec) return true;  // not ours to read: alive is all we know
  for (auto& e : it) {
    std::error_code lec;
    fs::path target = fs::read_symlink(e.path(), lec);
    if (!lec && target == want) return true;
  }
  return false;
}

Result<StatusReport> state_dir_report(const fs::path& dir, const std::string& name) {
  if (!is_state_dir(dir))
    return Status::NotFound(dir.string() + " is not a state dir of `sleet run` (it has no " +
                            std::string(kStateMarker) +
                            "); pass the directory `sleet run --state-dir` used");
  const std::string topology = marker_topology(dir);
  if (!name.empty() && topology != name)
    return Status::Invalid(dir.string() + " is the state dir of topology '" + topology +
                           "', not '" + name + "'; leave NAME out or pass its own --state-dir");
  const fs::path lock = dir / kStateLock;
  std::error_code ec;
  if (!fs::exists(lock, ec))
    return Status::NotFound("no run ever used " + dir.string() + " (it has no " +
                            std::string(kStateLock) + "); start one with `sleet run`");
  // The lock holds the pid of the `sleet run` that took it; that process holding the file open
  // means the run is live (read only: taking the flock, even shared, could make a starting run
  // fail to get it).
  const pid_t holder = static_cast<pid_t>(std::strtol(read_text(lock).c_str(), nullptr, 10));
  const bool live = process_holds(holder, lock);
  std::vector<StatusFileSeen> seen;
  auto look = [&](const fs::path& p) {
    if (!fs::exists(p, ec)) return;
    std::string err;
    auto doc = read_doc(p, &err);
    const auto pid = doc ? static_cast<pid_t>(doc->number_at("pid").value_or(0)) : 0;
    seen.push_back({p.string(), mtime_of(p), pid_alive(pid)});
  };
  look(dir / "status.json");
  for (auto& e : fs::directory_iterator(dir / "workers", ec))
    if (e.path().filename().string().size() > 12 && e.path().string().ends_with(".status.json"))
      look(e.path());
  std::sort(seen.begin(), seen.end(), [](auto& a, auto& b) { return a.path < b.path; });
  StateDirRun run = decide_state_dir_run(live, mtime_of(lock), seen);
  StatusReport r;
  r.topology = topology;
  r.state = live ? "running" : "stopped";
  r.source = "state_dir";
  r.where = dir.string();
  r.stopped_at = live ? 0 : (run.stopped_at ? run.stopped_at : mtime_of(lock));
  for (auto& f : run.files) {
    StatusWorker w;
    fs::path p = f;
    std::string file = p.filename().string();
    w.id = file == "status.json" ? "worker" : file.substr(0, file.size() - 12);
    w.source = f;
    w.doc = read_doc(p, &w.error);
    if (w.doc)
      if (auto m = w.doc->string_at("metrics_url")) w.metrics = host_port_of(*m);
    r.workers.push_back(std::move(w));
  }
  return r;
}

Result<std::string> http_get(const std::string& host_port, const std::string& path,
                             std::chrono::milliseconds deadline) {
  using clock = std::chrono::steady_clock;
  const auto until = clock::now() + deadline;
  const std::string what = "GET http://" + host_port + path;
  std::string host, port;
  if (!split_host_port(host_port, host, port))
    return Status::Invalid(what + ": '" + host_port + "' is not HOST:PORT");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return Status::Unavailable(what + ": " + gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addrs(res, freeaddrinfo);
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IoError(what + ": socket: " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  auto left_ms = [&] {
    return static_cast<int>(std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now()).count()));
  };
  auto wait_for = [&](short events) -> Status {
    pollfd p{fd, events, 0};
    while (true) {
      int n = ::poll(&p, 1, left_ms());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::IoError(what + ": poll: " + std::strerror(errno));
      if (n == 0)
        return Status::Timeout(what + ": no answer within " + std::to_string(deadline.count()) +
                               " ms");
      return Status::Ok();
    }
  };
  if (::connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return Status::Unavailable(what + ": " + std::strerror(errno));
    SLEET_RETURN_IF_ERROR(wait_for(POLLOUT));
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Status::Unavailable(what + ": " + std::strerror(err));
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + host_port +
                          "\r\nAccept: application/json\r\nConnection: close\r\n\r\n";
  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      SLEET_RETURN_IF_ERROR(wait_for(POLLOUT));
      continue;
    }
    if (n < 0) return Status::Unavailable(what + ": send: " + std::strerror(errno));
    off += static_cast<size_t>(n);
  }
  std::string reply;
  char buf[16384];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      reply.append(buf, static_cast<size_t>(n));
      if (reply.size() > (64u << 20)) return Status::Invalid(what + ": reply over 64 MiB");
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return Status::Unavailable(what + ": recv: " + std::strerror(errno));
    SLEET_RETURN_IF_ERROR(wait_for(POLLIN));
  }
  auto head_end = reply.find("\r\n\r\n");
  if (head_end == std::string::npos || reply.rfind("HTTP/", 0) != 0)
    return Status::Unavailable(what + ": not an HTTP reply");
  std::string head = reply.substr(0, head_end);
  std::string code = head.substr(head.find(' ') + 1, 3);
  if (code != "200")
    return Status::Unavailable(
        what + ": HTTP " + head.substr(head.find(' ') + 1, head.find("\r\n") - head.find(' ') - 1));
  std::string body = reply.substr(head_end + 4);
  std::string lower = head;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.find("transfer-encoding: chunked") != std::string::npos) body = dechunk(body);
  return body;
}

Result<StatusReport> zookeeper_report(zk::Client& zk, const std::string& connect,
                                      const std::string& root, const std::string& name,
                                      std::chrono::milliseconds http_deadline) {
  auto there = zk.exists(topology_znode(root, name));
  if (!there.ok()) return there.status();
  if (!there->has_value())
    return Status::NotFound("no topology '" + name + "' under " + root + " on " + connect +
                            " (`sleet list --zookeeper " + connect +
                            (root == "/sleet" ? "" : " --root " + root) + "` shows what there is)");
  StatusReport r;
  r.topology = name;
  r.source = "zookeeper";
  r.where = connect;
  CheckpointStore store(zk, root, name);
  auto latest = store.latest_id();
  if (!latest.ok()) return latest.status();
  if (latest->has_value()) r.committed_checkpoint = static_cast<int64_t>((*latest)->value);
  auto ids = live_workers(zk, root, name);
  if (!ids.ok()) return ids.status();
  r.state = ids->empty() ? "stopped" : "running";
  for (auto& id : *ids) {
    StatusWorker w;
    w.id = id;
    auto data = zk.get(workers_znode(root, name) + "/" + id);
    if (!data.ok()) {
      // Gone between the listing and the read: it left.
      w.error = "its ZooKeeper entry: " + data.status().message();
      r.workers.push_back(std::move(w));
      continue;
    }
    std::istringstream is(*data);
    for (std::string line; std::getline(is, line);)
      if (line.rfind("metrics=", 0) == 0) w.metrics = line.substr(8);
    if (w.metrics.empty()) {
      w.error = "its ZooKeeper entry names no metrics endpoint (a worker without metrics.port)";
      r.workers.push_back(std::move(w));
      continue;
    }
    w.source = "http://" + w.metrics + "/api/status";
    auto body = http_get(w.metrics, "/api/status", http_deadline);
    if (!body.ok()) {
      w.error = body.status().message();
    } else if (auto doc = parse_json(*body); doc.ok()) {
      w.doc = std::move(doc).value();
    } else {
      w.error = w.source + ": " + doc.status().message();
    }
    r.workers.push_back(std::move(w));
  }
  return r;
}

}  // namespace sleet::cluster
