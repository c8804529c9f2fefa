// The side-effect lease (cluster/lease.hpp) on a real ZooKeeper client and server: the client's
// heartbeat keeps an idle connection's lease open; stopping the server (by PID) closes the lease
// within 2/3 of the session timeout of the last answer, and restarting it within the session
// reopens it; an expired session keeps it closed until renew() on the replacement session.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>

#include "cluster/lease.hpp"
#include "coordination/zk_client.hpp"
#include "tests/support/zk_fixture.hpp"

using namespace sleet;
using namespace sleet::cluster;
using namespace std::chrono_literals;
using sleet::test::wait_until;
using Clock = std::chrono::steady_clock;

namespace {

class LeaseZkTest : public sleet::test::ZkTest {};

const char* kWhat = "FileSink out[0] renaming epoch 1 visible";

TEST_F(LeaseZkTest, HeartbeatsKeepAnIdleConnectionsLeaseOpen) {
  auto c = zk_server().client(zk_server().options(/*request_timeout=*/2s, /*session_timeout=*/3s));
  zk::ConnectionState st = c->connection_state();
  EXPECT_EQ(st.session_timeout, 3000ms) << "the granted timeout";
  EXPECT_TRUE(st.connected);
  EXPECT_FALSE(st.disconnected_since.has_value());
  ASSERT_TRUE(st.last_contact.has_value());
  Lease lease(*c);
  // No request of ours for longer than the bound (2 s): heartbeats (every 500 ms) keep it open.
  const auto first_contact = *st.last_contact;
  const auto until = Clock::now() + 2500ms;
  while (Clock::now() < until) {
    Status s = lease.allow(kWhat);
    ASSERT_TRUE(s.ok()) << s.to_string();
    std::this_thread::sleep_for(50ms);
  }
  st = c->connection_state();
  ASSERT_TRUE(st.last_contact.has_value());
  EXPECT_GT(*st.last_contact, first_contact + 1500ms) << "no heartbeat answered";
  EXPECT_LT(Clock::now() - *st.last_contact, 1000ms);
}

TEST_F(LeaseZkTest, ClosesWithinTheBoundWhenTheServerStopsAndReopensAfterItsRestart) {
  auto c = zk_server().client(zk_server().options(/*request_timeout=*/1s, /*session_timeout=*/4s));
  Lease lease(*c);
  ASSERT_TRUE(lease.allow(kWhat).ok());
  const auto bound = 4000ms * 2 / 3;
  const auto heartbeat = 4000ms / 6;

  // A watcher thread notes the first refusal, and the connection state it was decided on, from
  // before the stop on.
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  auto ms = [](Clock::duration d) {
    return static_cast<long long>(duration_cast<milliseconds>(d).count());
  };
  std::optional<Clock::time_point> closed_at;
  zk::ConnectionState at_close;
  Status refusal;
  std::thread watcher([&] {
    const auto give_up = Clock::now() + 15s;
    while (Clock::now() < give_up) {
      zk::ConnectionState st = c->connection_state();
      Status s = lease.allow(kWhat);
      if (!s.ok()) {
        refusal = s;
        closed_at = Clock::now();
        at_close = st;
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
  });
  const auto t0 = Clock::now();
  ASSERT_GT(zk_server().server().pid(), 0);
  ASSERT_TRUE(zk_server().server().stop().ok());  // SIGTERM to its PID, then SIGKILL; reaped
  ASSERT_TRUE(wait_until([&] { return !c->connected(); }, 10s));
  watcher.join();
  ASSERT_TRUE(closed_at.has_value()) << "the lease stayed open with the server stopped";
  EXPECT_NE(lease.verdict().state, LeaseState::open);
  ASSERT_TRUE(at_close.last_contact.has_value());
  ASSERT_TRUE(at_close.disconnected_since.has_value()) << "closed while still connected";
  // The rule: closed 2/3 of the session timeout after the last answer (to within the watcher's
  // 10 ms polls), which came before the disconnect, and while the server still ran heartbeats
  // were answered (at most one heartbeat interval before the stop began).
  const auto silent = *closed_at - *at_close.last_contact;
  std::printf(
      "lease closed %lld ms after the server stop began, %lld ms after the disconnect, %lld ms "
      "after the last answer (bound %lld ms, heartbeat %lld ms)\n",
      ms(*closed_at - t0), ms(*closed_at - *at_close.disconnected_since), ms(silent),
      static_cast<long long>(bound.count()), static_cast<long long>(heartbeat.count()));
  EXPECT_GE(silent, bound) << ms(silent);
  EXPECT_LE(silent, bound + 300ms) << ms(silent);
  EXPECT_LE(*at_close.last_contact, *at_close.disconnected_since);
  EXPECT_GE(*at_close.last_contact, t0 - heartbeat - 300ms) << "no heartbeat answered before";
  EXPECT_LE(*closed_at - *at_close.disconnected_since, bound + 300ms);
  EXPECT_EQ(refusal.code(), Code::unavailable);
  EXPECT_NE(refusal.message().find("side effects suspended: ZooKeeper connection suspended for"),
            std::string::npos)
      << refusal.message();
  EXPECT_NE(refusal.message().find("of a 4000 ms session (2/3 = 2666 ms)"), std::string::npos)
      << refusal.message();
  EXPECT_NE(refusal.message().find(kWhat), std::string::npos) << refusal.message();
  EXPECT_FALSE(c->connection_state().connected);

  ASSERT_TRUE(zk_server().server().restart().ok());
  ASSERT_TRUE(wait_until([&] { return lease.allow(kWhat).ok(); }, 15s))
      << lease.allow(kWhat).to_string();
  EXPECT_EQ(c->session_epoch(), 1u) << "back within the session: the same session";
  const zk::ConnectionState after = c->connection_state();
  EXPECT_TRUE(after.connected);
  EXPECT_FALSE(after.disconnected_since.has_value()) << "the outage is over";
  ASSERT_TRUE(after.last_contact.has_value());
  EXPECT_GT(*after.last_contact, *at_close.last_contact);
  EXPECT_EQ(lease.granted_epoch(), 1u);
}

TEST_F(LeaseZkTest, AnExpiredSessionClosesItUntilRenewedOnTheNewSession) {
  auto c = zk_server().client(zk_server().options(/*request_timeout=*/3s, /*session_timeout=*/4s));
  Lease lease(*c);
  ASSERT_TRUE(lease.allow(kWhat).ok());
  ASSERT_TRUE(c->expire_session_for_testing(10s).ok());
  ASSERT_TRUE(wait_until([&] { return c->session_epoch() == 2 && c->connected(); }, 15s));
  Status s = lease.allow(kWhat);
  EXPECT_EQ(s.code(), Code::unavailable);
  EXPECT_NE(s.message().find("(epoch 1) expired"), std::string::npos) << s.message();
  EXPECT_EQ(lease.verdict().state, LeaseState::expired);
  ASSERT_TRUE(lease.renew().ok());
  EXPECT_EQ(lease.granted_epoch(), 2u);
  EXPECT_TRUE(lease.allow(kWhat).ok());
}

}  // namespace
