#include "coordination/zk_client.hpp"

#include <zookeeper/zookeeper.h>

#include <spdlog/spdlog.h>
#include <boost/fiber/future.hpp>
#include <boost/fiber/operations.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <type_traits>

namespace sleet::zk {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// Errors

Status map_zk_error(int rc, const std::string& what) {
  auto msg = [&](const char* detail) {
    return "ZooKeeper " + what + ": " + zerror(rc) +
           (detail[0] ? std::string(" (") + detail + ")" : "");
  };
  switch (rc) {
    case ZOK:
      return Status::Ok();
    case ZNONODE:
      return Status::NotFound(msg(""));
    case ZNODEEXISTS:
      return Status(Code::already_exists, msg(""));
    case ZBADVERSION:
      return Status::Fenced(msg("the znode was changed by someone else"));
    case ZNOTEMPTY:
    case ZNOCHILDRENFOREPHEMERALS:
    case ZBADARGUMENTS:
    case ZINVALIDACL:
      return Status::Invalid(msg(""));
    case ZCONNECTIONLOSS:
    case ZOPERATIONTIMEOUT:
    case ZSESSIONMOVED:
    case ZINVALIDSTATE:
    case ZCLOSING:
      return Status::Unavailable(msg("not connected; a write may or may not have been applied"));
    case ZSESSIONEXPIRED:
      return Status::Unavailable(msg("a new session is being opened"));
    case ZTHROTTLEDOP:
      return Status::Unavailable(msg("throttled by the server; not applied"));
    case ZNOAUTH:
    case ZAUTHFAILED:
      return Status(Code::internal, msg("permission denied"));
    default:
      return Status::Internal(msg(("return code " + std::to_string(rc)).c_str()));
  }
}

Status validate_path(std::string_view path) {
  auto bad = [&](const char* why) {
    return Status::Invalid("bad znode path '" + std::string(path) + "': " + why);
  };
  if (path.empty() || path[0] != '/') return bad("must start with '/'");
  if (path == "/") return Status::Ok();
  if (path.back() == '/') return bad("must not end with '/'");
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    auto part = path.substr(start, end - start);
    if (part.empty()) return bad("empty component");
    if (part == "." || part == "..") return bad("'.' and '..' are not allowed");
    for (char c : part)
      if (c == '\0') return bad("NUL character");
    start = end + 1;
  }
  return Status::Ok();
}

static Status check_size(size_t bytes, const std::string& what) {
  if (bytes > kMaxRequestBytes)
    return Status::Invalid("ZooKeeper " + what + ": request of " + std::to_string(bytes) +
                           " bytes exceeds the limit of " + std::to_string(kMaxRequestBytes) +
                           " (ZooKeeper drops requests over ~1 MB as a connection loss)");
  return Status::Ok();
}

Op Op::check(std::string path, int version) {
  Op o;
  o.type = Type::check;
  o.path = std::move(path);
  o.version = version;
  return o;
}
Op Op::create(std::string path, std::string data, bool ephemeral) {
  Op o;
  o.type = Type::create;
  o.path = std::move(path);
  o.data = std::move(data);
  o.ephemeral = ephemeral;
  return o;
}
Op Op::set(std::string path, std::string data, int version) {
  Op o;
  o.type = Type::set;
  o.path = std::move(path);
  o.data = std::move(data);
  o.version = version;
  return o;
}
Op Op::remove(std::string path, int version) {
  Op o;
  o.type = Type::remove;
  o.path = std::move(path);
  o.version = version;
  return o;
}

// ---------------------------------------------------------------------------------------------
// Logging: the C client writes to stderr by default. We route its messages (ERROR level only) to
// spdlog at debug level: real failures reach callers as Status values, and a server that is down
// for a test would otherwise print a line per reconnect attempt.

static void zk_log(const char* message) {
  spdlog::debug("zookeeper client: {}", message);
}

static void quiet_zk_logging_once() {
  static std::once_flag once;
  std::call_once(once, [] { zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR); });
}

// ---------------------------------------------------------------------------------------------
// Sessions

// Wakes the keeper thread. Shared by the Client and its Sessions, so a watcher never touches a
// destroyed Client.
struct KeeperSignal {
  std::mutex m;
  std::condition_variable cv;
  bool wake = false;
  bool stop = false;
  // How often the keeper sends a heartbeat: a sixth of the granted session timeout (set by the
  // session's watcher once connected), so a lease (ConnectionState::last_contact) stays fresh.
  std::atomic<int64_t> heartbeat_ms{1000};
  void notify() {
    {
      std::lock_guard lk(m);
      wake = true;
    }
    cv.notify_all();
  }
};

// ---------------------------------------------------------------------------------------------
// Watches

const char* watch_event_name(WatchEvent::Type t) {
  switch (t) {
    case WatchEvent::Type::created:
      return "created";
    case WatchEvent::Type::deleted:
      return "deleted";
    case WatchEvent::Type::changed:
      return "changed";
    case WatchEvent::Type::children:
      return "children changed";
  }
  return "?";
}

// Shared by the Watch (the waiter) and the Session's registry (the C client's watcher context is
// the registry key, never a pointer, so a late or stale registration cannot reach a freed or
// reused state). Completed once, from the C client's completion thread or the thread that closes
// or expires the session.
struct WatchState {
  explicit WatchState(std::string p) : path(std::move(p)), future(promise.get_future().share()) {}
  std::string path;
  std::mutex m;
  bool done = false;
  std::optional<WatchEvent> event;
  Status lost;
  boost::fibers::promise<void> promise;
  boost::fibers::shared_future<void> future;

  void complete(std::optional<WatchEvent> ev, Status why) {
    {
      std::lock_guard lk(m);
      if (done) return;
      done = true;
      event = std::move(ev);
      lost = std::move(why);
    }
    promise.set_value();
  }
};

bool Watch::fired() const {
  if (!state_) return false;
  std::lock_guard lk(state_->m);
  return state_->done;
}

Result<WatchEvent> Watch::wait_until(Clock::time_point until) const {
  if (!state_) return Status::Invalid("wait on a ZooKeeper watch that was never armed");
  if (state_->future.wait_until(until) != boost::fibers::future_status::ready)
    return Status::Timeout("ZooKeeper watch on " + state_->path + ": no event before the deadline");
  std::lock_guard lk(state_->m);
  if (state_->event) return *state_->event;
  return state_->lost;
}

// One zhandle_t, i.e. one ZooKeeper session. Destroying it closes the handle (zookeeper_close
// joins the C client's threads, so no watcher or completion runs after the destructor returns;
// pending completions are called with ZCLOSING from the closing thread). Shared: the Client holds
// the current one, and a caller holds a reference only while it submits a request.
class Session : public std::enable_shared_from_this<Session> {
 public:
  static Result<std::shared_ptr<Session>> open(const Options& o,
                                               std::shared_ptr<KeeperSignal> signal) {
    auto s = std::make_shared<Session>(std::move(signal));
    quiet_zk_logging_once();
    // The watcher context is the Session itself: it outlives the handle (see the destructor).
    s->zh_ =
        zookeeper_init2(o.connect.c_str(), &Session::watcher,
                        static_cast<int>(o.session_timeout.count()), nullptr, s.get(), 0, &zk_log);
    if (!s->zh_) {
      int e = errno;
      if (e == EINVAL)
        return Status::Invalid("bad ZooKeeper connect string '" + o.connect +
                               "' (expected host:port[,host:port...][/chroot])");
      // Most often a host name that does not resolve (right now): retriable.
      return Status::Unavailable("cannot open a ZooKeeper handle for '" + o.connect +
                                 "': no server address resolves");
    }
    return s;
  }

  explicit Session(std::shared_ptr<KeeperSignal> signal) : signal_(std::move(signal)) {}
  ~Session() {
    if (zh_) zookeeper_close(zh_);  // no watcher runs after this
    fail_watches("the ZooKeeper client was closed");
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  zhandle_t* zh() const { return zh_; }
  bool connected() const { return state_.load() == ZOO_CONNECTED_STATE; }
  bool expired() const { return expired_.load(); }
  void mark_expired() {
    if (!expired_.exchange(true)) {
      fail_watches("the session expired");
      signal_->notify();
    }
  }
  int64_t id() const { return id_.load(); }

  // Connection facts for Client::connection_state (steady-clock ticks; 0 = none).
  std::optional<Clock::time_point> disconnected_since() const { return at(disconnected_since_); }
  std::optional<Clock::time_point> last_contact() const { return at(last_contact_); }
  milliseconds granted_timeout() const { return milliseconds(granted_ms_.load()); }

  // A heartbeat: exists("/") whose reply records its send time as last contact. Fire and forget;
  // the keeper thread calls it. A reply after the session closed finds no Session (weak_ptr).
  void heartbeat() {
    struct Beat {
      std::weak_ptr<Session> session;
      Clock::time_point sent;
      static void complete(int rc, const Stat*, const void* data) {
        std::unique_ptr<Beat> b(static_cast<Beat*>(const_cast<void*>(data)));
        if (rc != ZOK) return;
        if (auto s = b->session.lock()) s->note_contact(b->sent);
      }
    };
    auto b = std::make_unique<Beat>(Beat{weak_from_this(), Clock::now()});
    int rc = zoo_aexists(zh_, "/", 0, &Beat::complete, b.get());
    // As in Client::run: only these two codes leave the completion unregistered.
    if (rc == ZOK || (rc != ZBADARGUMENTS && rc != ZINVALIDSTATE)) (void)b.release();
  }

  // Registers a watch state; the returned key is the C watcher's context. Any thread.
  // A watch registered on a session already marked expired fails at once (fail_watches may have
  // run already and would never see it).
  uint64_t register_watch(std::shared_ptr<WatchState> w) {
    {
      std::lock_guard lk(watch_mu_);
      uint64_t key = ++next_watch_;
      if (!expired_.load()) {
        watches_.emplace(key, std::move(w));
        return key;
      }
    }
    w->complete(std::nullopt, Status::Unavailable("ZooKeeper watch on " + w->path +
                                                  ": the session expired before it was armed"));
    return 0;
  }
  // A request that armed nothing (an error, or no reply in time): forget its state. A late
  // registration by the C client then finds no key and is ignored.
  void unregister_watch(uint64_t key) {
    std::lock_guard lk(watch_mu_);
    watches_.erase(key);
  }
  // The watcher of every watching request. Runs on the C client's completion thread. A session
  // event reaches every armed watcher: only the end of the session completes them; a node event
  // is the one-shot event.
  static void watch_fn(zhandle_t* zh, int type, int state, const char* path, void* ctx) {
    auto* self = static_cast<Session*>(const_cast<void*>(zoo_get_context(zh)));
    if (!self) return;
    auto key = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(ctx));
    if (type == ZOO_SESSION_EVENT) {
      if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE)
        self->mark_expired();
      return;
    }
    std::optional<WatchEvent> ev;
    if (type == ZOO_CREATED_EVENT)
      ev = WatchEvent{WatchEvent::Type::created, path ? path : ""};
    else if (type == ZOO_DELETED_EVENT)
      ev = WatchEvent{WatchEvent::Type::deleted, path ? path : ""};
    else if (type == ZOO_CHANGED_EVENT)
      ev = WatchEvent{WatchEvent::Type::changed, path ? path : ""};
    else if (type == ZOO_CHILD_EVENT)
      ev = WatchEvent{WatchEvent::Type::children, path ? path : ""};
    else
      return;  // ZOO_NOTWATCHING_EVENT (3.5+ removed watches): not one of ours
    std::shared_ptr<WatchState> w;
    {
      std::lock_guard lk(self->watch_mu_);
      auto it = self->watches_.find(key);
      if (it == self->watches_.end()) return;
      w = std::move(it->second);
      self->watches_.erase(it);
    }
    w->complete(std::move(ev), Status::Ok());
  }

 private:
  // Runs on the C client's completion thread.
  static void watcher(zhandle_t* zh, int type, int state, const char*, void* ctx) {
    if (type != ZOO_SESSION_EVENT) return;
    auto* self = static_cast<Session*>(ctx);
    self->state_.store(state);
    if (state == ZOO_CONNECTED_STATE) {
      if (const clientid_t* id = zoo_client_id(zh)) self->id_.store(id->client_id);
      // The handshake was just answered: contact now (later than the request's send time by at
      // most one round trip, far below the third of a session timeout a lease keeps in hand).
      self->note_contact(Clock::now());
      self->disconnected_since_.store(0);
      const int granted = zoo_recv_timeout(zh);
      if (granted > 0) {
        self->granted_ms_.store(granted);
        self->signal_->heartbeat_ms.store(std::max(granted / 6, 10));
      }
    } else {
      int64_t none = 0;  // the first moment of this outage only
      self->disconnected_since_.compare_exchange_strong(none, ticks(Clock::now()));
      if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE)
        self->mark_expired();
    }
  }

  static int64_t ticks(Clock::time_point t) { return t.time_since_epoch().count(); }
  static std::optional<Clock::time_point> at(const std::atomic<int64_t>& v) {
    int64_t t = v.load();
    if (t == 0) return std::nullopt;
    return Clock::time_point(Clock::duration(t));
  }
  // Any thread: keeps the newest.
  void note_contact(Clock::time_point t) {
    int64_t want = ticks(t), cur = last_contact_.load();
    while (cur < want && !last_contact_.compare_exchange_weak(cur, want)) {
    }
  }

  void fail_watches(const char* why) {
    std::map<uint64_t, std::shared_ptr<WatchState>> lost;
    {
      std::lock_guard lk(watch_mu_);
      lost.swap(watches_);
    }
    for (auto& [key, w] : lost)
      w->complete(std::nullopt, Status::Unavailable("ZooKeeper watch on " + w->path + ": " + why +
                                                    " before it fired; re-read and watch again"));
  }

  zhandle_t* zh_ = nullptr;
  std::shared_ptr<KeeperSignal> signal_;
  std::mutex watch_mu_;  // guards watches_ and next_watch_; never held while completing a watch
  std::map<uint64_t, std::shared_ptr<WatchState>> watches_;
  uint64_t next_watch_ = 0;
  std::atomic<int> state_{0};
  std::atomic<bool> expired_{false};
  std::atomic<int64_t> id_{0};
  std::atomic<int64_t> disconnected_since_{0};  // steady-clock ticks; 0: connected or never was
  std::atomic<int64_t> last_contact_{0};        // steady-clock ticks; 0: no answer yet
  std::atomic<int> granted_ms_{0};              // zoo_recv_timeout once connected
};

// ---------------------------------------------------------------------------------------------
// Calls. Each request has a heap state shared by the caller and the completion: the completion's
// `data` is a heap-allocated shared_ptr (one reference) that the completion adopts and releases,
// so a caller that gave up waiting leaves a valid state behind for a late completion.

namespace {

struct CallBase {
  boost::fibers::promise<int> done;
};

template <class S>
std::unique_ptr<std::shared_ptr<S>> adopt(const void* data) {
  return std::unique_ptr<std::shared_ptr<S>>(
      static_cast<std::shared_ptr<S>*>(const_cast<void*>(data)));
}

struct VoidCall : CallBase {
  static void complete(int rc, const void* data) { (*adopt<VoidCall>(data))->done.set_value(rc); }
};

struct GetCall : CallBase {
  std::string value;
  int version = -1;
  static void complete(int rc, const char* value, int len, const Stat* stat, const void* data) {
    auto h = adopt<GetCall>(data);
    auto& s = **h;
    if (rc == ZOK) {
      if (value && len > 0) s.value.assign(value, static_cast<size_t>(len));
      if (stat) s.version = stat->version;
    }
    s.done.set_value(rc);
  }
};

struct StatCall : CallBase {
  int version = -1;
  static void complete(int rc, const Stat* stat, const void* data) {
    auto h = adopt<StatCall>(data);
    if (rc == ZOK && stat) (*h)->version = stat->version;
    (*h)->done.set_value(rc);
  }
};

struct StringCall : CallBase {
  static void complete(int rc, const char*, const void* data) {
    (*adopt<StringCall>(data))->done.set_value(rc);
  }
};

struct NameCall : CallBase {
  std::string name;
  static void complete(int rc, const char* name, const void* data) {
    auto h = adopt<NameCall>(data);
    if (rc == ZOK && name) (*h)->name = name;
    (*h)->done.set_value(rc);
  }
};

struct FullStatCall : CallBase {
  NodeStat stat;
  static void complete(int rc, const Stat* stat, const void* data) {
    auto h = adopt<FullStatCall>(data);
    if (rc == ZOK && stat)
      (*h)->stat = NodeStat{stat->version, stat->cversion, stat->ephemeralOwner, stat->numChildren};
    (*h)->done.set_value(rc);
  }
};

struct ChildrenCall : CallBase {
  std::vector<std::string> names;
  static void complete(int rc, const String_vector* strings, const void* data) {
    auto h = adopt<ChildrenCall>(data);
    if (rc == ZOK && strings)
      for (int i = 0; i < strings->count; ++i) (*h)->names.emplace_back(strings->data[i]);
    (*h)->done.set_value(rc);
  }
};

// The completion writes into `results` and `stats` (per op), so they live here, not on the
// caller's stack.
struct MultiCall : CallBase {
  std::vector<Op> ops;
  std::vector<zoo_op_t> zops;
  std::vector<zoo_op_result_t> results;
  std::vector<Stat> stats;
  static void complete(int rc, const void* data) { (*adopt<MultiCall>(data))->done.set_value(rc); }
};

std::string op_name(const Op& op) {
  switch (op.type) {
    case Op::Type::check:
      return "check " + op.path + " version " + std::to_string(op.version);
    case Op::Type::create:
      return "create " + op.path;
    case Op::Type::set:
      return "set " + op.path;
    case Op::Type::remove:
      return "delete " + op.path;
  }
  return "?";
}

}  // namespace

Client::Client(Key, Options options)
    : options_(std::move(options)), signal_(std::make_shared<KeeperSignal>()) {}

Result<std::unique_ptr<Client>> Client::connect(const Options& options, milliseconds deadline) {
  if (options.connect.empty()) return Status::Invalid("empty ZooKeeper connect string");
  if (options.request_timeout.count() <= 0 || options.session_timeout.count() <= 0)
    return Status::Invalid("ZooKeeper timeouts must be positive");
  auto c = std::make_unique<Client>(Key{}, options);
  auto s = Session::open(options, c->signal_);
  if (!s.ok()) return s.status();
  c->session_ = std::move(s).value();
  c->epoch_ = 1;
  c->signal_->heartbeat_ms.store(std::max<int64_t>(options.session_timeout.count() / 6, 10));
  c->keeper_ = std::thread([cp = c.get()] { cp->renew_loop(); });
  auto until = Clock::now() + deadline;
  while (!c->session_->connected()) {
    if (Clock::now() >= until)
      return Status::Unavailable("cannot connect to ZooKeeper at " + options.connect + " within " +
                                 std::to_string(deadline.count()) + " ms");
    boost::this_fiber::sleep_for(milliseconds(2));
  }
  return c;
}

Client::~Client() {
  {
    std::lock_guard lk(signal_->m);
    signal_->stop = true;
  }
  signal_->cv.notify_all();
  if (keeper_.joinable()) keeper_.join();
  std::shared_ptr<Session> s;
  {
    std::lock_guard lk(mu_);
    s = std::move(session_);
  }
  s.reset();  // zookeeper_close
}

// The keeper thread: replaces an expired session by a new one. It is the only writer of session_
// after connect(), and it closes old handles here, off the callers' fibers.
void Client::renew_loop() {
  std::unique_lock lk(signal_->m);
  while (true) {
    // Between wake-ups, a heartbeat every heartbeat_ms (see ConnectionState::last_contact).
    const bool woken = signal_->cv.wait_for(lk, milliseconds(signal_->heartbeat_ms.load()),
                                            [&] { return signal_->stop || signal_->wake; });
    if (signal_->stop) return;
    if (!woken) {
      lk.unlock();
      if (auto s = current(); s && s->connected() && !s->expired()) s->heartbeat();
      lk.lock();
      continue;
    }
    signal_->wake = false;
    lk.unlock();
    std::shared_ptr<Session> old = current();
    if (old && old->expired()) {
      auto fresh = Session::open(options_, signal_);
      if (fresh.ok()) {
        uint64_t e;
        {
          // The epoch changes with the session under mu_, so connection_state() never pairs
          // the new session with the old epoch.
          std::lock_guard g(mu_);
          session_ = std::move(fresh).value();
          e = ++epoch_;
        }
        spdlog::warn("ZooKeeper session 0x{:x} expired; opened session epoch {}", old->id(), e);
        old.reset();  // closes the expired handle unless a submitting caller still holds it
      } else {
        spdlog::warn("cannot open a new ZooKeeper session: {}", fresh.status().to_string());
        lk.lock();
        // Retry in a second unless told to stop.
        signal_->cv.wait_for(lk, std::chrono::seconds(1), [&] { return signal_->stop; });
        signal_->wake = true;
        continue;
      }
    }
    lk.lock();
  }
}

std::shared_ptr<Session> Client::current() const {
  std::lock_guard lk(mu_);
  return session_;
}

bool Client::connected() const {
  auto s = current();
  return s && s->connected();
}

uint64_t Client::session_epoch() const {
  return epoch_.load();
}

bool Client::session_expired() const {
  auto s = current();
  return s && s->expired();
}

int64_t Client::session_id() const {
  auto s = current();
  return s ? s->id() : 0;
}

ConnectionState Client::connection_state() const {
  std::shared_ptr<Session> s;
  ConnectionState st;
  {
    std::lock_guard lk(mu_);
    s = session_;
    st.session_epoch = epoch_.load();
  }
  st.session_timeout = options_.session_timeout;
  if (!s) return st;
  st.connected = s->connected();
  st.expired = s->expired();
  st.disconnected_since = s->disconnected_since();
  st.last_contact = s->last_contact();
  if (s->granted_timeout().count() > 0) st.session_timeout = s->granted_timeout();
  return st;
}

Result<std::shared_ptr<Session>> Client::connected_session(Clock::time_point until,
                                                           const std::string& what) {
  while (true) {
    auto s = current();
    if (s && s->connected() && !s->expired()) return s;
    if (Clock::now() >= until)
      return Status::Unavailable("ZooKeeper " + what + ": not connected to " + options_.connect +
                                 " (gave up after " +
                                 std::to_string(options_.request_timeout.count()) + " ms)");
    // Suspends only this fiber (or sleeps this thread when called outside fibers).
    boost::this_fiber::sleep_for(milliseconds(5));
  }
}

void Client::note_failure(const std::shared_ptr<Session>& s, int rc) {
  if (!s) return;
  if (rc == ZSESSIONEXPIRED || (rc == ZINVALIDSTATE && is_unrecoverable(s->zh()) == ZINVALIDSTATE))
    s->mark_expired();
}

template <class State, class Submit>
Status Client::run(const std::string& what, const std::shared_ptr<State>& state, Submit&& submit) {
  auto until = Clock::now() + options_.request_timeout;
  auto sr = connected_session(until, what);
  if (!sr.ok()) return sr.status();
  std::shared_ptr<Session> s = std::move(sr).value();
  auto future = state->done.get_future();
  auto holder = std::make_unique<std::shared_ptr<State>>(state);
  int rc;
  if constexpr (std::is_invocable_v<Submit, Session&, zhandle_t*, const void*>)
    rc = submit(*s, s->zh(), static_cast<const void*>(holder.get()));
  else
    rc = submit(s->zh(), static_cast<const void*>(holder.get()));
  if (rc != ZOK) {
    // ZBADARGUMENTS and ZINVALIDSTATE are returned before the C client registers the
    // completion, so the reference is still ours. For any other code (marshalling failure, i.e.
    // out of memory) the completion may be registered and run later: leave the reference to it.
    if (rc != ZBADARGUMENTS && rc != ZINVALIDSTATE) (void)holder.release();
    note_failure(s, rc);
    return map_zk_error(rc, what);
  }
  (void)holder.release();  // the completion owns it now
  // Do not pin the session while waiting: if it expires, the keeper closes it, and this
  // request's completion then runs with ZCLOSING instead of keeping us waiting.
  std::weak_ptr<Session> weak = s;
  s.reset();
  if (future.wait_until(until) != boost::fibers::future_status::ready)
    return Status::Unavailable("ZooKeeper " + what + ": no reply within " +
                               std::to_string(options_.request_timeout.count()) +
                               " ms; a write may or may not have been applied");
  int result = future.get();
  if (result != ZOK) {
    if (auto live = weak.lock()) note_failure(live, result);
  }
  return map_zk_error(result, what);
}

Result<std::string> Client::get(const std::string& path, int* version) {
  std::string what = "get " + path;
  SLEET_RETURN_IF_ERROR(validate_path(path));
  auto call = std::make_shared<GetCall>();
  Status st = run(what, call, [&](zhandle_t* zh, const void* data) {
    return zoo_aget(zh, path.c_str(), 0, &GetCall::complete, data);
  });
  if (!st.ok()) return st;
  if (version) *version = call->version;
  return std::move(call->value);
}

Result<std::optional<int>> Client::exists(const std::string& path) {
  std::string what = "exists " + path;
  SLEET_RETURN_IF_ERROR(validate_path(path));
  auto call = std::make_shared<StatCall>();
  Status st = run(what, call, [&](zhandle_t* zh, const void* data) {
    return zoo_aexists(zh, path.c_str(), 0, &StatCall::complete, data);
  });
  if (st.code() == Code::not_found) return std::optional<int>();
  if (!st.ok()) return st;
  return std::optional<int>(call->version);
}

Status Client::create(const std::string& path, const std::string& data, bool ephemeral) {
  std::string what = "create " + path;
  SLEET_RETURN_IF_ERROR(validate_path(path));
  SLEET_RETURN_IF_ERROR(check_size(data.size() + path.size(), what));
  auto call = std::make_shared<StringCall>();
  return run(what, call, [&](zhandle_t* zh, const void* d) {
    return zoo_acreate(zh, path.c_str(), data.data(), static_cast<int>(data.size()),
                       &ZOO_OPEN_ACL_UNSAFE, ephemeral ? ZOO_EPHEMERAL : ZOO_PERSISTENT,
                       &StringCall::complete, d);
  });
}

Status Client::ensure_path(const std::string& path) {
  SLEET_RETURN_IF_ERROR(validate_path(path));
  if (path == "/") return Status::Ok();
  auto e = exists(path);
  if (!e.ok()) return e.status();
  if (e->has_value()) return Status::Ok();
  for (size_t pos = path.find('/', 1);; pos = path.find('/', pos + 1)) {
    std::string prefix = pos == std::string::npos ? path : path.substr(0, pos);
    Status st = create(prefix, "");
    if (!st.ok() && st.code() != Code::already_exists) return st;
    if (pos == std::string::npos) return Status::Ok();
  }
}

Result<int> Client::set(const std::string& path, const std::string& data, int version) {
  std::string what = "set " + path;
  SLEET_RETURN_IF_ERROR(validate_path(path));
  SLEET_RETURN_IF_ERROR(check_size(data.size() + path.size(), what));
  auto call = std::make_shared<StatCall>();
  Status st = run(what, call, [&](zhandle_t* zh, const void* d) {
    return zoo_aset(zh, path.c_str(), data.data(), static_cast<int>(data.size()), version,
                    &StatCall::complete, d);
  });
  if (!st.ok()) return st;
  return call->version;
}

Status Client::remove(const std::string& path, int version) {
  std::string what = "delete " + path;
  SLEET_RETURN_IF_ERROR(validate_path(path));
  if (path == "/") return Status::Invalid("cannot delete the ZooKeeper root");
  auto call = std::make_shared<VoidCall>();
  return run(what, call, [&](zhandle_t* zh, const void* d) {
    return zoo_adelete(zh, path.c_str(), version, &VoidCall::complete, d);
  });
}

Status Client::remove_recursive(const std::string& path) {
  SLEET_RETURN_IF_ERROR(validate_path(path));
  if (path == "/") return Status::Invalid("cannot delete the ZooKeeper root");
  auto kids = children(path);
  if (!kids.ok()) return kids.status().code() == Code::not_found ? Status::Ok() : kids.status();
  for (const auto& k : *kids) SLEET_RETURN_IF_ERROR(remove_recursive(path + "/" + k));
  Status st = remove(path);
  // Someone else removed it meanwhile: fine.
  return st.code() == Code::not_found ? Status::Ok() : st;
}

Result<std::vector<std::string>> Client::children(const std::string& path) {
  std::string what = "get children of " + path;
  SLEET_RETURN_IF_ERROR(validate_path(path));
  auto call = std::make_shared<ChildrenCall>();
  Status st = run(what, call, [&](zhandle_t* zh, const void* d) {
    return zoo_aget_children(zh, path.c_str(), 0, &ChildrenCall::complete, d);
  });
  if (!st.ok()) return st;
  return std::move(call->names);
}

Result<std::string> Client::create_node(const std::string& path, const std::string& data,
                                        CreateMode mode) {
  std::string what = "create " + path;
  bool sequential =
      mode == CreateMode::persistent_sequential || mode == CreateMode::ephemeral_sequential;
  // A sequential path may end with '/': the server appends the counter.
  SLEET_RETURN_IF_ERROR(validate_path(sequential ? path + "0" : path));
  SLEET_RETURN_IF_ERROR(check_size(data.size() + path.size(), what));
  int flags = 0;
  if (mode == CreateMode::ephemeral || mode == CreateMode::ephemeral_sequential)
    flags |= ZOO_EPHEMERAL;
  if (sequential) flags |= ZOO_SEQUENCE;
  auto call = std::make_shared<NameCall>();
  Status st = run(what, call, [&](zhandle_t* zh, const void* d) {
    return zoo_acreate(zh, path.c_str(), data.data(), static_cast<int>(data.size()),
                       &ZOO_OPEN_ACL_UNSAFE, flags, &NameCall::complete, d);
  });
  if (!st.ok()) return st;
  return std::move(call->name);
}

Result<std::optional<NodeStat>> Client::stat(const std::string& path) {
  std::string what = "stat " + path;
  SLEET_RETURN_IF_ERROR(validate_path(path));
  auto call = std::make_shared<FullStatCall>();
  Status st = run(what, call, [&](zhandle_t* zh, const void* data) {
    return zoo_aexists(zh, path.c_str(), 0, &FullStatCall::complete, data);
  });
  if (st.code() == Code::not_found) return std::optional<NodeStat>();
  if (!st.ok()) return st;
  return std::optional<NodeStat>(call->stat);
}

namespace {
// One watching request's registration: the submit lambda registers the state with the session it
// submits on; afterwards the caller either hands the state to the Watch (armed) or unregisters it.
struct WatchRegistration {
  explicit WatchRegistration(const std::string& path) : state(std::make_shared<WatchState>(path)) {}
  std::shared_ptr<WatchState> state;
  std::weak_ptr<Session> session;
  uint64_t key = 0;
  void* context(Session& s) {
    session = s.weak_from_this();
    key = s.register_watch(state);
    return reinterpret_cast<void*>(static_cast<uintptr_t>(key));
  }
  void finish(bool armed, std::shared_ptr<WatchState>& slot) {
    if (armed) {
      slot = state;
      return;
    }
    if (auto s = session.lock(); s && key) s->unregister_watch(key);
  }
};
}  // namespace

Result<std::optional<int>> Client::exists(const std::string& path, Watch& watch) {
  std::string what = "exists " + path;
  watch.state_.reset();
  SLEET_RETURN_IF_ERROR(validate_path(path));
  auto call = std::make_shared<StatCall>();
  WatchRegistration reg(path);
  Status st = run(what, call, [&](Session& s, zhandle_t* zh, const void* data) {
    return zoo_awexists(zh, path.c_str(), &Session::watch_fn, reg.context(s), &StatCall::complete,
                        data);
  });
  // An exists watch is armed on an absent node too (it fires when the node is created).
  bool armed = st.ok() || st.code() == Code::not_found;
  reg.finish(armed, watch.state_);
  if (st.code() == Code::not_found) return std::optional<int>();
  if (!st.ok()) return st;
  return std::optional<int>(call->version);
}

Result<std::string> Client::get(const std::string& path, Watch& watch, int* version) {
  std::string what = "get " + path;
  watch.state_.reset();
  SLEET_RETURN_IF_ERROR(validate_path(path));
  auto call = std::make_shared<GetCall>();
  WatchRegistration reg(path);
  Status st = run(what, call, [&](Session& s, zhandle_t* zh, const void* data) {
    return zoo_awget(zh, path.c_str(), &Session::watch_fn, reg.context(s), &GetCall::complete,
                     data);
  });
  reg.finish(st.ok(), watch.state_);
  if (!st.ok()) return st;
  if (version) *version = call->version;
  return std::move(call->value);
}

Result<std::vector<std::string>> Client::children(const std::string& path, Watch& watch) {
  std::string what = "get children of " + path;
  watch.state_.reset();
  SLEET_RETURN_IF_ERROR(validate_path(path));
  auto call = std::make_shared<ChildrenCall>();
  WatchRegistration reg(path);
  Status st = run(what, call, [&](Session& s, zhandle_t* zh, const void* data) {
    return zoo_awget_children(zh, path.c_str(), &Session::watch_fn, reg.context(s),
                              &ChildrenCall::complete, data);
  });
  reg.finish(st.ok(), watch.state_);
  if (!st.ok()) return st;
  return std::move(call->names);
}

Status Client::multi(const std::vector<Op>& ops) {
  if (ops.empty()) return Status::Ok();
  std::string what =
      "multi (" + std::to_string(ops.size()) + " ops, first " + op_name(ops[0]) + ")";
  size_t bytes = 0;
  for (auto& op : ops) {
    SLEET_RETURN_IF_ERROR(validate_path(op.path));
    bytes += op.path.size() + op.data.size() + 16;
  }
  SLEET_RETURN_IF_ERROR(check_size(bytes, what));
  auto call = std::make_shared<MultiCall>();
  call->ops = ops;
  size_t n = ops.size();
  call->zops.resize(n);
  call->results.resize(n);
  call->stats.resize(n);
  for (size_t i = 0; i < n; ++i) {
    std::memset(&call->results[i], 0, sizeof(zoo_op_result_t));
    const Op& op = call->ops[i];
    zoo_op_t* z = &call->zops[i];
    switch (op.type) {
      case Op::Type::check:
        zoo_check_op_init(z, op.path.c_str(), op.version);
        break;
      case Op::Type::create:
        zoo_create_op_init(z, op.path.c_str(), op.data.data(), static_cast<int>(op.data.size()),
                           &ZOO_OPEN_ACL_UNSAFE, op.ephemeral ? ZOO_EPHEMERAL : ZOO_PERSISTENT,
                           nullptr, 0);
        break;
      case Op::Type::set:
        zoo_set_op_init(z, op.path.c_str(), op.data.data(), static_cast<int>(op.data.size()),
                        op.version, &call->stats[i]);
        break;
      case Op::Type::remove:
        zoo_delete_op_init(z, op.path.c_str(), op.version);
        break;
    }
  }
  Status st = run(what, call, [&](zhandle_t* zh, const void* d) {
    return zoo_amulti(zh, static_cast<int>(n), call->zops.data(), call->results.data(),
                      &MultiCall::complete, d);
  });
  if (st.ok() || st.code() == Code::unavailable || st.code() == Code::invalid_argument) return st;
  // The server failed one op and rolled back the rest: ops before it report ZOK, ops after it
  // ZRUNTIMEINCONSISTENCY. Name the op that failed.
  for (size_t i = 0; i < n; ++i) {
    int err = call->results[i].err;
    if (err == ZOK || err == ZRUNTIMEINCONSISTENCY) continue;
    const Op& op = call->ops[i];
    std::string which = "multi op " + std::to_string(i) + " (" + op_name(op) + ")";
    if (op.type == Op::Type::check)
      return Status::Fenced("ZooKeeper " + which + " failed: " + zerror(err) +
                            "; nothing was written");
    return map_zk_error(err, which).with_context("nothing was written");
  }
  return st;
}

Status Client::expire_session_for_testing(milliseconds deadline) {
  auto until = Clock::now() + deadline;
  auto s = current();
  if (!s || !s->connected()) return Status::Unavailable("no connected session to expire");
  const clientid_t* id = zoo_client_id(s->zh());
  if (!id) return Status::Unavailable("no session id");
  clientid_t copy = *id;
  // The second handle takes the session over and closes it. If this client reconnects (taking
  // the session back) before that close reaches the server, the close is refused ("session
  // moved") and the session lives on. So repeat until a probe finds the session expired on the
  // server, or this client has seen it expire.
  for (int attempt = 1;; ++attempt) {
    struct Probe {
      std::atomic<int> state{0};
      static void watcher(zhandle_t*, int type, int state, const char*, void* ctx) {
        if (type == ZOO_SESSION_EVENT) static_cast<Probe*>(ctx)->state.store(state);
      }
    };
    auto probe = std::make_unique<Probe>();
    zhandle_t* other = zookeeper_init2(options_.connect.c_str(), &Probe::watcher,
                                       static_cast<int>(options_.session_timeout.count()), &copy,
                                       probe.get(), 0, &zk_log);
    if (!other) return Status::Internal("zookeeper_init failed");
    while (probe->state.load() != ZOO_CONNECTED_STATE) {
      if (probe->state.load() == ZOO_EXPIRED_SESSION_STATE && attempt > 1) {
        zookeeper_close(other);
        return Status::Ok();  // an earlier attempt's close went through
      }
      if (Clock::now() >= until || probe->state.load() == ZOO_EXPIRED_SESSION_STATE) {
        zookeeper_close(other);
        return Status::Unavailable("could not attach to the session to expire it");
      }
      boost::this_fiber::sleep_for(milliseconds(5));
    }
    zookeeper_close(other);  // closes the session on the server (unless it moved back)
    auto settle = std::min(until, Clock::now() + milliseconds(300));
    while (!s->expired() && Clock::now() < settle) boost::this_fiber::sleep_for(milliseconds(5));
    if (s->expired()) return Status::Ok();
    if (Clock::now() >= until)
      return Status::Unavailable("the session did not expire after " + std::to_string(attempt) +
                                 " attempts");
  }
}

}  // namespace sleet::zk
