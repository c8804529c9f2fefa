// The network namespace and cut-link helpers the cluster e2e tests stand on (tests/support/netns):
// after enter_fresh_netns() a listener on 127.0.0.11 is reachable from 127.0.0.10, a LinkCut makes
// new connections between the two time out and stalls an established one, healing restores both
// (the stalled bytes arrive), other addresses are never cut, and the host's namespace sees neither
// the listener nor the rules.
#include <gtest/gtest.h>

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "tests/support/netns.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;

namespace {

size_t count_of(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

std::string iptables_rules() {
  auto r = test::run_command({"iptables", "-w", "5", "-S"}, 15s);
  EXPECT_EQ(r.status, 0) << r.err;
  return r.out;
}

// Accepts and closes one connection (so the backlog never fills).
void drain_one(test::TcpListener& l) {
  int fd = l.accept_one(2s);
  EXPECT_GE(fd, 0) << "connected but never accepted";
  if (fd >= 0) close(fd);
}

}  // namespace

// Run first in a process of its own (the threadsafe death-test style re-executes this binary):
// outside a fresh namespace a LinkCut must refuse before touching any firewall.
TEST(ClusterNetnsDeathTest, LinkCutRefusesOutsideAFreshNamespace) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        try {
          test::LinkCut cut("127.0.0.10", "127.0.0.11");
        } catch (const std::runtime_error& e) {
          std::fprintf(stderr, "%s\n", e.what());
          std::_Exit(7);
        }
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(7), "outside a fresh network namespace");
}

TEST(ClusterNetns, LinkCutDropsAndHealsOnlyInsideTheNamespace) {
  const std::string host = test::netns_id();
  Status entered = test::enter_fresh_netns();
  ASSERT_TRUE(entered.ok()) << entered.to_string();
  ASSERT_TRUE(test::in_fresh_netns());
  EXPECT_NE(test::netns_id(), host);
  EXPECT_EQ(test::host_netns_id(), host);
  // librdkafka resolves "127.0.0.1:port" so (broker.address.family=v4); with lo alone it fails.
  addrinfo hints{}, *found = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  int gai = getaddrinfo("127.0.0.1", "9092", &hints, &found);
  EXPECT_EQ(gai, 0) << gai_strerror(gai);
  if (found) freeaddrinfo(found);

  test::TcpListener server("127.0.0.11");
  const int port = server.port();
  const std::string listening = "127.0.0.11:" + std::to_string(port);
  int client = -1;
  ASSERT_EQ(test::tcp_connect("127.0.0.10", "127.0.0.11", port, 2s, &client),
            test::ConnectOutcome::connected);
  int accepted = server.accept_one(2s);
  ASSERT_GE(accepted, 0);
  ASSERT_EQ(send(client, "a", 1, MSG_NOSIGNAL), 1);
  EXPECT_EQ(test::read_some(accepted, 2s), "a");

  // The listener exists here and not in the host's namespace.
  auto ours = test::run_command({"ss", "-Htln", "src", "127.0.0.11"}, 10s);
  ASSERT_EQ(ours.status, 0) << ours.err;
  EXPECT_NE(ours.out.find(listening), std::string::npos) << ours.out;
  auto theirs = test::run_in_host_netns({"ss", "-Htln", "src", "127.0.0.11"}, 10s);
  ASSERT_EQ(theirs.status, 0) << theirs.err;
  EXPECT_EQ(theirs.out.find(listening), std::string::npos) << theirs.out;

  std::string tag;
  {
    test::LinkCut cut("127.0.0.10", "127.0.0.11");
    tag = cut.tag();
    EXPECT_EQ(count_of(iptables_rules(), tag), 4u);
    auto host_rules = test::run_in_host_netns({"iptables", "-w", "5", "-S"}, 15s);
    ASSERT_EQ(host_rules.status, 0) << host_rules.err;
    EXPECT_EQ(host_rules.out.find(tag), std::string::npos) << "the cut leaked into the host";

    // New connections time out (dropped, not refused), within the deadline given.
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(test::tcp_connect("127.0.0.10", "127.0.0.11", port, 1500ms),
              test::ConnectOutcome::timed_out);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    const int64_t dropped = cut.dropped_packets();
    EXPECT_GT(dropped, 0) << "the SYNs were not counted as dropped by the cut's rules";
    // Both directions are cut.
    test::TcpListener back("127.0.0.10");
    EXPECT_EQ(test::tcp_connect("127.0.0.11", "127.0.0.10", back.port(), 1s),
              test::ConnectOutcome::timed_out);
    // The established connection stalls: its bytes do not arrive.
    ASSERT_EQ(send(client, "b", 1, MSG_NOSIGNAL), 1);
    EXPECT_EQ(test::read_some(accepted, 1s), "");
    // Only that pair: another source reaches the same listener, and so does an unbound socket
    // (source 127.0.0.1), which is why the transport must bind to its advertise address.
    EXPECT_EQ(test::tcp_connect("127.0.0.12", "127.0.0.11", port, 2s),
              test::ConnectOutcome::connected);
    drain_one(server);
    EXPECT_EQ(test::tcp_connect("", "127.0.0.11", port, 2s), test::ConnectOutcome::connected);
    drain_one(server);

    Status healed = cut.heal();
    ASSERT_TRUE(healed.ok()) << healed.to_string();
    EXPECT_FALSE(cut.active());
  }
  EXPECT_EQ(count_of(iptables_rules(), tag), 0u);
  // Healed: the stalled byte arrives by retransmission, new connections go through.
  std::string got;
  EXPECT_TRUE(test::wait_until(
      [&] {
        got += test::read_some(accepted, 100ms);
        return got == "b";
      },
      10s))
      << "got '" << got << "'";
  EXPECT_EQ(test::tcp_connect("127.0.0.10", "127.0.0.11", port, 2s),
            test::ConnectOutcome::connected);
  drain_one(server);

  // The destructor alone removes exactly its rules, and leaves another cut's in place.
  {
    test::LinkCut keep("127.0.0.10", "127.0.0.13");
    { test::LinkCut scoped("127.0.0.10", "127.0.0.11"); }
    auto rules = iptables_rules();
    EXPECT_EQ(count_of(rules, keep.tag()), 4u);
    EXPECT_EQ(count_of(rules, "sleet-linkcut-"), 4u) << rules;
    EXPECT_EQ(test::tcp_connect("127.0.0.10", "127.0.0.11", port, 2s),
              test::ConnectOutcome::connected);
    drain_one(server);
  }
  EXPECT_EQ(count_of(iptables_rules(), "sleet-linkcut-"), 0u);
  close(client);
  close(accepted);
}

// A second test in the same process gets a namespace of its own: nothing of the first is left.
TEST(ClusterNetns, EachEntryIsAFreshNamespace) {
  Status first = test::enter_fresh_netns();
  ASSERT_TRUE(first.ok()) << first.to_string();
  const std::string a = test::netns_id();
  test::TcpListener l("127.0.0.11");
  Status second = test::enter_fresh_netns();
  ASSERT_TRUE(second.ok()) << second.to_string();
  EXPECT_NE(test::netns_id(), a);
  EXPECT_TRUE(test::in_fresh_netns());
  // The listener stays in the first namespace: here its port is closed.
  EXPECT_EQ(test::tcp_connect("127.0.0.10", "127.0.0.11", l.port(), 2s),
            test::ConnectOutcome::refused);
  EXPECT_EQ(count_of(iptables_rules(), "sleet-linkcut-"), 0u);
}
