// Network namespaces and cut links for end-to-end tests (issue 12, "What it must show"): a test
// enters a fresh network namespace of its own (unshare(CLONE_NEWNET), lo up), so ZooKeeper, Kafka
// and every worker it starts run on 127.0.0.x addresses no other test and no host process sees, and
// it can cut TCP between two of those addresses with iptables without touching the host's firewall.
//
// Threading: enter_fresh_netns() only from the process's ONLY thread (a network namespace belongs
// to a thread: threads started before it stay behind, threads and children started after inherit
// it), i.e. at the top of a test before anything starts a thread. Everything else from the test's
// thread. Needs root (or CAP_SYS_ADMIN + CAP_NET_ADMIN); without it enter_fresh_netns() fails with
// the reason, it never skips.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <sleet/status.hpp>

#include "tests/support/support.hpp"

namespace sleet::test {

// Moves the calling (only) thread into a new network namespace with `lo` up (`ip link set lo up`,
// run by PID with a deadline) and a second loopback address 127.0.0.2, without which glibc's
// getaddrinfo(AI_ADDRCONFIG) refuses every IPv4 name, numeric ones included (librdkafka). May be
// called again (another test in the same process): each call makes a fresh namespace. The first
// call remembers the namespace the process started in (the host's) for run_in_host_netns(). Errors:
// failed_precondition-like internal errors naming the cause: more than one thread, unshare refused
// (EPERM: not root), `ip` missing or failing.
[[nodiscard]] Status enter_fresh_netns();

// True once enter_fresh_netns() succeeded and the calling thread is still in that namespace.
bool in_fresh_netns();

// "net:[4026531840]": the namespace of the calling thread, and of the process at start.
std::string netns_id();
std::string host_netns_id();

// Runs argv to completion (bounded by `timeout`, killed by PID after it) in the host's namespace:
// for checks that the test left the host alone. Requires an earlier enter_fresh_netns().
CommandResult run_in_host_netns(const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout);

// A TCP listener on a given IPv4 address (e.g. "127.0.0.11") and a free port; closed on
// destruction.
class TcpListener {
 public:
  explicit TcpListener(const std::string& ip);  // throws std::runtime_error
  ~TcpListener();
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  int port() const { return port_; }
  // Accepts one connection within `timeout`; its fd (the caller closes it), or -1.
  int accept_one(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  int port_ = 0;
};

enum class ConnectOutcome { connected, refused, timed_out, error };
const char* to_string(ConnectOutcome o);

// A non-blocking connect from `from_ip` (bound, port 0; "" leaves the source to the kernel) to
// to_ip:port, waiting at most `timeout`. On `connected`, *fd_out (if given) receives the socket,
// else it is closed.
ConnectOutcome tcp_connect(const std::string& from_ip, const std::string& to_ip, int port,
                           std::chrono::milliseconds timeout, int* fd_out = nullptr);

// Bytes readable on `fd` within `timeout` (reads what is there, up to 4096), "" if none.
std::string read_some(int fd, std::chrono::milliseconds timeout);

// Drops TCP between two IPv4 addresses, both directions, while it lives: four iptables rules
// (INPUT and OUTPUT, -s A -d B and -s B -d A, `-p tcp -j DROP`, inserted first, tagged with a
// comment unique to this cut), `-w` to wait for the xtables lock. heal() (or the destructor)
// deletes exactly those rules. Packets match by address, so a socket that did not bind its source
// to A (the kernel then picks 127.0.0.1 on lo) is not cut: the transport must bind its outgoing
// connections to the worker's advertise address.
// Refuses (throws std::runtime_error) outside a fresh namespace, so it can never touch the host's
// firewall.
class LinkCut {
 public:
  LinkCut(std::string a, std::string b);
  ~LinkCut();
  LinkCut(const LinkCut&) = delete;
  LinkCut& operator=(const LinkCut&) = delete;
  // Removes the rules; idempotent. Error if iptables refused a delete (the rules named).
  [[nodiscard]] Status heal();
  bool active() const { return active_; }
  // Packets the cut's rules dropped so far (their counters, `iptables -S -v`); -1 if unreadable.
  // A test checks it is > 0 to show the cut really hit the traffic it meant to cut.
  int64_t dropped_packets() const;
  const std::string& tag() const { return tag_; }  // the rules' comment

 private:
  std::vector<std::vector<std::string>> rules() const;  // the -I/-D arguments after the verb
  std::string a_, b_, tag_;
  bool active_ = false;
};

}  // namespace sleet::test
