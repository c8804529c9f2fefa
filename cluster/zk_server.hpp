// A real ZooKeeper server (the Debian `zookeeper` package, Java) started as a child process: the
// embedded ZooKeeper of `sleet run` and of every test that needs one.
//
// Classpath: zookeeper.jar's manifest names its dependencies in /usr/share/java (jute, netty,
// jetty, slf4j-api, ...), so "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar" runs the server.
// No slf4j binding is among them, so we add slf4j-simple.jar when present (the server then logs
// to stderr, which we send to <dir>/zookeeper.log); without it the server runs silently.
//
// Threading: one owner thread; all methods block that thread (start waits for the server to
// answer). Do not call from a task fiber.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include <sleet/status.hpp>

#include "cluster/process.hpp"

namespace sleet {

class EmbeddedZooKeeper {
  struct Key {  // only start() constructs one
    explicit Key() = default;
  };

 public:
  struct Settings {
    std::string java = "java";  // looked up on PATH unless it contains a '/'
    std::string jar = "/usr/share/java/zookeeper.jar";
    std::string conf_dir = "/etc/zookeeper/conf";
    std::string log_binding = "/usr/share/java/slf4j-simple.jar";  // skipped if missing
    // The JVM reserves this much but uses far less when idle. Sizing: the server keeps every
    // znode in memory, and ALSO its last 500 write requests, about three copies of each (the
    // "committed log" for followers; 3.8 refuses zookeeper.commitLogCount < 500, measured:
    // 300 writes of 500 KB left 450 MB live). With inline blobs <= 128 KB that is <= ~200 MB.
    int max_heap_mb = 768;

    // The defaults above, overridden by the environment: SLEET_JAVA (the java binary, a path or a
    // name looked up on PATH) and SLEET_ZOOKEEPER_JAR (the server jar), for machines where
    // ZooKeeper is not Debian's package. Unset or empty variables keep the default. Used by the
    // start() overload without Settings, so `sleet run` and the tests' fixtures honour them.
    static Settings from_environment();
  };

  // Writes <dir>/zoo.cfg (data in <dir>/data, client port on 127.0.0.1 only, admin server off,
  // 4lw whitelist ruok/srvr), spawns the server in its own process group with its output in
  // <dir>/zookeeper.log, and waits until it answers "ruok" with "imok" or `deadline` passes.
  // port 0 picks a free loopback port (retrying if another process grabs it first).
  // The overload without Settings uses Settings::from_environment().
  // Errors: not_found (no java, no jar; the message names the package to install and the
  // variable that overrides the path), unavailable (port in use, server did not come up in
  // time; the message quotes the end of zookeeper.log), io_error (cannot write the config).
  static Result<std::unique_ptr<EmbeddedZooKeeper>> start(
      const std::filesystem::path& dir, int port = 0,
      std::chrono::milliseconds deadline = std::chrono::seconds(30));
  static Result<std::unique_ptr<EmbeddedZooKeeper>> start(const std::filesystem::path& dir,
                                                          int port,
                                                          std::chrono::milliseconds deadline,
                                                          const Settings& settings);

  EmbeddedZooKeeper(Key, std::filesystem::path dir, int port, Settings settings)
      : dir_(std::move(dir)), port_(port), settings_(std::move(settings)) {}
  ~EmbeddedZooKeeper();  // stops the server
  EmbeddedZooKeeper(const EmbeddedZooKeeper&) = delete;
  EmbeddedZooKeeper& operator=(const EmbeddedZooKeeper&) = delete;

  std::string connect_string() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  pid_t pid() const { return process_.pid(); }  // -1 while stopped
  bool running();
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path log_path() const { return dir_ / "zookeeper.log"; }

  // SIGTERM by PID, up to `grace` for the JVM to exit, then SIGKILL; always reaps. Idempotent.
  Status stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // SIGKILL at once (a crash, not a shutdown); reaps.
  Status kill();
  // stop(), then start again on the same port and data directory (znodes and sessions survive,
  // as with a real server restart). Waits up to `deadline` for it to answer again.
  Status restart(std::chrono::milliseconds deadline = std::chrono::seconds(30));

  // Sends a four-letter command ("ruok", "srvr") and returns the reply; unavailable if no
  // answer within `timeout`.
  static Result<std::string> four_letter(int port, const std::string& cmd,
                                         std::chrono::milliseconds timeout);

 private:
  Status launch(std::chrono::milliseconds deadline);

  std::filesystem::path dir_;
  int port_;
  Settings settings_;
  Process process_;
};

}  // namespace sleet
