// A ZooKeeper client for fibers and threads alike: an RAII wrapper around the C client's zhandle_t
// (libzookeeper_mt, THREADED) that uses only the asynchronous C API. Each call submits the request,
// and its completion (on the C client's completion thread) fulfils a boost::fibers::promise; the
// caller waits on the future with a deadline. Called from a fiber, a call suspends only that fiber
// (the other fibers of the thread keep running); called from a plain thread, it blocks the thread.
//
// Threading: every public method may be called concurrently from any thread or fiber, EXCEPT from
// inside a ZooKeeper callback (there are none in this API). The destructor must not race with
// calls. No call ever waits longer than Options::request_timeout (plus the deadline of connect()).
//
// Errors (one mapping, map_zk_error): connection loss, timeouts, session expiry, a closed or
// expired handle -> Code::unavailable (retriable; for a write the outcome is then UNKNOWN: read
// back before deciding); ZNONODE -> not_found; ZNODEEXISTS -> already_exists; ZBADVERSION and a
// failed check in a multi -> fenced; requests over kMaxRequestBytes -> invalid_argument, refused
// before sending (the server would drop them as a connection loss).
//
// Sessions: when the server reports the session expired (ephemeral nodes are gone), the client
// opens a new session on its own (a background thread closes the old handle and calls
// zookeeper_init again) and bumps session_epoch(); callers that own ephemeral nodes watch the epoch
// and re-create them. The keeper thread also sends a heartbeat (exists "/", fire and forget) every
// sixth of the granted session timeout; connection_state().last_contact is the send time of the
// newest answered one, what a side-effect lease (cluster/lease.hpp) measures its bound from.
//
// Watches (exists/get/children with a Watch&): ZooKeeper's one-shot watches. The event is kept in
// the Watch until a fiber or thread waits for it with a deadline. A watch survives a connection
// loss within its session (the C client re-registers it on reconnect, and the server reports a
// change it missed); when the session is lost (expired, or the client closed) every armed watch of
// it returns unavailable, so a waiter never hangs on a watch that can no longer fire.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <sleet/status.hpp>

namespace sleet::zk {

// The server's default jute.maxbuffer is 1 MiB for a whole request; we keep headroom for paths and
// framing and refuse anything whose payload (data plus paths) exceeds this.
inline constexpr size_t kMaxRequestBytes = 1'000'000;

struct Options {
  std::string connect;  // "host:port[,host:port...][/chroot]"
  std::chrono::milliseconds session_timeout{10000};
  std::chrono::milliseconds request_timeout{10000};
};

// One operation of an atomic multi().
struct Op {
  enum class Type : uint8_t { check, create, set, remove };
  Type type = Type::check;
  std::string path;
  std::string data;
  int version = -1;
  bool ephemeral = false;

  static Op check(std::string path, int version);
  static Op create(std::string path, std::string data, bool ephemeral = false);
  static Op set(std::string path, std::string data, int version = -1);
  static Op remove(std::string path, int version = -1);
};

// The single place that turns a ZooKeeper return code into a Status. `what` names the request
// ("get /sleet/x") for the message.
Status map_zk_error(int rc, const std::string& what);

// Checks a znode path the way the server would (absolute, no empty, "." or ".." components, no
// trailing slash except the root); invalid_argument otherwise.
Status validate_path(std::string_view path);

// How create_node() creates a znode. For the sequential modes the server appends a 10-digit,
// per-parent increasing counter to the path (which may then end with '/').
enum class CreateMode : uint8_t {
  persistent,
  ephemeral,
  persistent_sequential,
  ephemeral_sequential
};

// The parts of a znode's Stat the recipes need.
struct NodeStat {
  int version = -1;             // data version
  int cversion = -1;            // children version
  int64_t ephemeral_owner = 0;  // session id owning an ephemeral node, 0 for a persistent one
  int num_children = 0;
};

// The one event of a fired watch.
struct WatchEvent {
  enum class Type : uint8_t { created, deleted, changed, children };
  Type type = Type::changed;
  std::string path;
};
const char* watch_event_name(WatchEvent::Type t);

struct WatchState;

// A one-shot watch armed by Client::exists/get/children(path, Watch&). Cheap to move; empty until a
// call armed it. Waiting may be repeated (after a timeout, or to re-read the event); any one
// thread or fiber at a time. The Watch may be dropped before it fires (the client keeps its state
// until the event or the end of the session).
class Watch {
 public:
  Watch() = default;
  bool armed() const { return state_ != nullptr; }
  // True once the event arrived or the session was lost (wait() then returns at once).
  bool fired() const;
  // The event; Code::timeout if `until` passed first (the watch stays armed: wait again);
  // unavailable if the session was lost before the event (re-read and watch again);
  // invalid_argument if the watch was never armed. Suspends a fiber / blocks a thread.
  Result<WatchEvent> wait_until(std::chrono::steady_clock::time_point until) const;
  Result<WatchEvent> wait_for(std::chrono::milliseconds timeout) const {
    return wait_until(std::chrono::steady_clock::now() + timeout);
  }

 private:
  friend class Client;
  std::shared_ptr<WatchState> state_;
};

// What a side-effect lease (cluster/lease.hpp) needs to know about the connection, read at once
// from one session (Client::connection_state). Times are steady_clock.
struct ConnectionState {
  uint64_t session_epoch = 0;  // Client::session_epoch() of the session these facts are about
  bool connected = false;      // the C client reports the session connected right now
  bool expired = false;        // the server said the session expired (a new one is being opened)
  // Since when the connection is down (the C client's first non-connected state after being
  // connected); nullopt while connected, and before the first connect.
  std::optional<std::chrono::steady_clock::time_point> disconnected_since;
  // The send time of the newest request the server answered (a heartbeat the client sends every
  // sixth of the session timeout, or the session handshake): the server had heard from this
  // session by then, so it cannot expire the session before last_contact + session_timeout.
  // nullopt before the first answer.
  std::optional<std::chrono::steady_clock::time_point> last_contact;
  // The session timeout the server granted (zoo_recv_timeout) once connected; the requested
  // Options::session_timeout before.
  std::chrono::milliseconds session_timeout{0};
};

class Session;
struct KeeperSignal;

class Client {
  struct Key {  // only connect() constructs a Client
    explicit Key() = default;
  };

 public:
  Client(Key, Options options);
  // Opens a session and waits until it is connected or `deadline` passes (then unavailable).
  // Blocks the calling thread or suspends the calling fiber.
  static Result<std::unique_ptr<Client>> connect(const Options& options,
                                                 std::chrono::milliseconds deadline);
  ~Client();  // zookeeper_close; pending calls on other fibers/threads must have returned
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const;          // the current session is connected right now
  uint64_t session_epoch() const;  // 1 for the first session, +1 for every replacement session
  // The current session has expired (its ephemeral nodes are gone) and a new one is being opened:
  // true from the expiry until the replacement bumps session_epoch().
  bool session_expired() const;
  int64_t session_id() const;  // ZooKeeper's id of the current session (0 if none yet)
  // The current session's connection facts, consistent with each other (one session, its epoch).
  // Cheap (atomics, one short lock), any thread or fiber.
  ConnectionState connection_state() const;
  const Options& options() const { return options_; }

  // Data of `path`; its version in *version if given.
  Result<std::string> get(const std::string& path, int* version = nullptr);
  // The version of `path` if it exists, nullopt if not.
  Result<std::optional<int>> exists(const std::string& path);
  // already_exists if present; not_found if the parent is missing.
  Status create(const std::string& path, const std::string& data, bool ephemeral = false);
  // Creates `path` and every missing ancestor with empty data (mkdir -p); idempotent.
  Status ensure_path(const std::string& path);
  // Returns the new version; fenced if `version` (not -1) does not match, not_found if absent.
  Result<int> set(const std::string& path, const std::string& data, int version = -1);
  // not_found if absent; fenced on a version mismatch; invalid_argument if it has children.
  Status remove(const std::string& path, int version = -1);
  // Removes `path` and everything below it; Ok if it does not exist. Not atomic.
  Status remove_recursive(const std::string& path);
  // Child names (not paths), unsorted as the server returns them.
  Result<std::vector<std::string>> children(const std::string& path);

  // Creates `path` in `mode` and returns the created path (for a sequential mode, `path` plus the
  // server's counter). already_exists / not_found as create(). A sequential create that returns
  // unavailable may still have created a node: recipes find it by a token in its name.
  Result<std::string> create_node(const std::string& path, const std::string& data,
                                  CreateMode mode);
  // The Stat of `path` if it exists, nullopt if not.
  Result<std::optional<NodeStat>> stat(const std::string& path);

  // Watching variants. On success `watch` is armed (replacing what it held); on an error it is
  // left empty. exists: fires on create, delete or data change, armed also when the node is
  // absent. get: fires on delete or data change (not armed on not_found). children: fires when a
  // child is added or removed or the node is deleted (not armed on not_found).
  Result<std::optional<int>> exists(const std::string& path, Watch& watch);
  Result<std::string> get(const std::string& path, Watch& watch, int* version = nullptr);
  Result<std::vector<std::string>> children(const std::string& path, Watch& watch);
  // All ops or none. A failed check op -> fenced; any other failure is mapped as above with the
  // failing op named in the message. An empty list is Ok without a request.
  Status multi(const std::vector<Op>& ops);

  // Test support: makes the server expire the current session (opens a second handle on the same
  // session and closes it, as ZooKeeper's own tests do). The client notices, opens a new session
  // and bumps session_epoch(). Returns once the session was closed on the server; retries the
  // takeover if this client won the session back before the close.
  Status expire_session_for_testing(std::chrono::milliseconds deadline);

 private:
  // The current session, with a reference so it cannot be closed under a submitting caller.
  std::shared_ptr<Session> current() const;
  // Waits (suspending a fiber) until the current session is connected or `until`; the session.
  Result<std::shared_ptr<Session>> connected_session(std::chrono::steady_clock::time_point until,
                                                     const std::string& what);
  void note_failure(const std::shared_ptr<Session>& s, int rc);
  void renew_loop();  // the session keeper thread

  template <class State, class Submit>
  Status run(const std::string& what, const std::shared_ptr<State>& state, Submit&& submit);

  Options options_;
  mutable std::mutex
      mu_;  // guards session_ (replaced by the keeper thread); never held while waiting
  std::shared_ptr<Session> session_;
  std::atomic<uint64_t> epoch_{0};
  // The keeper thread sleeps on this until a session expires or the client closes.
  std::shared_ptr<KeeperSignal> signal_;
  std::thread keeper_;
};

}  // namespace sleet::zk
