// The side-effect lease (cluster/lease.hpp) on a manual clock and a hand-set connection state: no
// ZooKeeper, no sleeps. Open while the server answered less than 2/3 of the session timeout ago
// (connected, or suspended below the bound); suspended at and above the bound; open again once
// the server answers; expired (sticky) once the session expired or was replaced, until renew().
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "cluster/lease.hpp"

using namespace sleet;
using namespace sleet::cluster;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// The connection state and the clock a test moves by hand.
struct Harness {
  Clock::time_point now = Clock::time_point(1h);  // any fixed origin
  zk::ConnectionState conn;
  Harness() {
    conn.session_epoch = 1;
    conn.connected = true;
    conn.session_timeout = 2000ms;
    conn.last_contact = now;
  }
  Lease lease() {
    return Lease([this] { return conn; }, [this] { return now; });
  }
  // The connection drops now; the last answer was `ago` before.
  void disconnect(Clock::duration ago = 0ms) {
    conn.connected = false;
    conn.disconnected_since = now;
    conn.last_contact = now - ago;
  }
  void reconnect() {
    conn.connected = true;
    conn.disconnected_since.reset();
    conn.last_contact = now;
  }
};

const char* kWhat = "FileSink out[2] renaming epoch 7 visible";

TEST(Lease, OpenWhileConnectedAndAnswered) {
  Harness h;
  Lease lease = h.lease();
  EXPECT_EQ(lease.verdict().state, LeaseState::open);
  EXPECT_TRUE(lease.allow(kWhat).ok());
  // Heartbeats keep answering: an hour later it is still open.
  for (int i = 0; i < 10; ++i) {
    h.now += 300ms;
    h.conn.last_contact = h.now - 5ms;
    EXPECT_TRUE(lease.allow(kWhat).ok()) << i;
  }
  EXPECT_EQ(lease.granted_epoch(), 1u);
}

TEST(Lease, SuspendedBelowTheBoundIsStillOpen) {
  Harness h;
  Lease lease = h.lease();
  h.disconnect();
  h.now += 1332ms;  // 2/3 of 2000 ms is 1333 ms
  auto v = lease.verdict();
  EXPECT_EQ(v.state, LeaseState::open);
  EXPECT_FALSE(v.connected);
  EXPECT_EQ(v.silent, 1332ms);
  EXPECT_EQ(v.bound, 1333ms);
  EXPECT_TRUE(lease.allow(kWhat).ok());
}

TEST(Lease, SuspendedAtTheBoundIsRefusedNamingTheFiguresAndTheSideEffect) {
  Harness h;
  Lease lease = h.lease();
  h.disconnect();
  h.now += 1333ms;
  EXPECT_EQ(lease.verdict().state, LeaseState::suspended);
  Status s = lease.allow(kWhat);
  EXPECT_EQ(s.code(), Code::unavailable);
  EXPECT_EQ(s.message(),
            "side effects suspended: ZooKeeper connection suspended for 1333 ms of a 2000 ms "
            "session (2/3 = 1333 ms); this worker may be a zombie, so it refuses: FileSink out[2] "
            "renaming epoch 7 visible (side effects resume once ZooKeeper answers again; recovery "
            "finishes what was refused)");
}

TEST(Lease, SuspendedAboveTheBoundIsRefused) {
  Harness h;
  Lease lease = h.lease();
  h.disconnect();
  h.now += 1400ms;
  Status s = lease.allow(kWhat);
  EXPECT_EQ(s.code(), Code::unavailable);
  EXPECT_NE(s.message().find("suspended for 1400 ms of a 2000 ms session (2/3 = 1333 ms)"),
            std::string::npos)
      << s.message();
  h.now += 10s;  // far beyond the session timeout, the server never said "expired": suspended
  EXPECT_EQ(lease.verdict().state, LeaseState::suspended);
}

// The bound counts from the last answer, not from the moment the client noticed the outage (the C
// client notices a silent partition only 2/3 of the timeout after the last answer).
TEST(Lease, TheBoundCountsFromTheLastAnswerNotFromTheDisconnect) {
  Harness h;
  Lease lease = h.lease();
  h.disconnect(/*ago=*/1300ms);
  EXPECT_TRUE(lease.allow(kWhat).ok());
  h.now += 40ms;
  EXPECT_EQ(lease.allow(kWhat).code(), Code::unavailable);
}

// Connected as far as the C client knows, but nothing answered for too long (a SIGSTOPped process
// just woke up, its I/O thread has not yet seen the closed socket): refused.
TEST(Lease, ConnectedButSilentPastTheBoundIsRefused) {
  Harness h;
  Lease lease = h.lease();
  h.now += 5s;
  ASSERT_TRUE(h.conn.connected);
  Status s = lease.allow(kWhat);
  EXPECT_EQ(s.code(), Code::unavailable);
  EXPECT_NE(s.message().find("ZooKeeper connection silent for 5000 ms"), std::string::npos)
      << s.message();
}

TEST(Lease, ReconnectedWithinTheSessionReopens) {
  Harness h;
  Lease lease = h.lease();
  h.disconnect();
  h.now += 1500ms;
  ASSERT_EQ(lease.allow(kWhat).code(), Code::unavailable);
  h.reconnect();  // same session (epoch 1): the server kept it
  EXPECT_EQ(lease.verdict().state, LeaseState::open);
  EXPECT_TRUE(lease.allow(kWhat).ok());
}

TEST(Lease, ExpiredIsRefusedUntilRenewed) {
  Harness h;
  Lease lease = h.lease();
  h.disconnect();
  h.now += 500ms;
  h.conn.expired = true;  // the server said so on reconnect: below the bound, still refused
  Status s = lease.allow(kWhat);
  EXPECT_EQ(s.code(), Code::unavailable);
  EXPECT_NE(s.message().find("side effects stopped: the ZooKeeper session this worker's lease was "
                             "granted for (epoch 1) expired"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("so it refuses: FileSink out[2] renaming epoch 7 visible"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(lease.verdict().state, LeaseState::expired);

  // The client opens a replacement session (epoch 2), connected and answering: still refused,
  // since this worker's ephemeral znodes are gone until it rejoins.
  h.conn = zk::ConnectionState{};
  h.conn.session_epoch = 2;
  h.conn.connected = true;
  h.conn.session_timeout = 2000ms;
  h.conn.last_contact = h.now;
  EXPECT_EQ(lease.verdict().state, LeaseState::expired);
  EXPECT_EQ(lease.allow(kWhat).code(), Code::unavailable);

  ASSERT_TRUE(lease.renew().ok());
  EXPECT_EQ(lease.granted_epoch(), 2u);
  EXPECT_EQ(lease.verdict().state, LeaseState::open);
  EXPECT_TRUE(lease.allow(kWhat).ok());
}

// A session replaced without the lease seeing "expired" (the probe was not asked in between) is
// expired all the same, and stays so even when the probe's facts look healthy.
TEST(Lease, AReplacedSessionIsExpiredAndSticky) {
  Harness h;
  Lease lease = h.lease();
  h.conn.session_epoch = 2;
  EXPECT_EQ(lease.verdict().state, LeaseState::expired);
  h.conn.session_epoch = 1;  // (cannot happen with a real client; the lease must not reopen)
  EXPECT_EQ(lease.verdict().state, LeaseState::expired);
  EXPECT_EQ(lease.allow(kWhat).code(), Code::unavailable);
}

TEST(Lease, RenewNeedsAConnectedLiveSession) {
  Harness h;
  Lease lease = h.lease();
  h.conn.session_epoch = 2;
  h.conn.connected = false;
  Status s = lease.renew();
  EXPECT_EQ(s.code(), Code::unavailable);
  EXPECT_NE(s.message().find("epoch 2 is not connected"), std::string::npos) << s.message();
  EXPECT_EQ(lease.granted_epoch(), 1u);
  h.conn.connected = true;
  h.conn.expired = true;
  EXPECT_EQ(lease.renew().code(), Code::unavailable);
  h.conn.expired = false;
  h.conn.last_contact = h.now;
  ASSERT_TRUE(lease.renew().ok());
  EXPECT_TRUE(lease.allow(kWhat).ok());
}

TEST(Lease, NoAnswerYetIsSuspended) {
  Harness h;
  h.conn.connected = false;
  h.conn.last_contact.reset();
  Lease lease = h.lease();
  Status s = lease.allow(kWhat);
  EXPECT_EQ(s.code(), Code::unavailable);
  EXPECT_NE(s.message().find("ZooKeeper has not answered this session yet"), std::string::npos)
      << s.message();
}

// The rule as a table: (connected, ms since the last answer) on a 3000 ms session (bound 2000).
TEST(LeaseVerdict, Table) {
  struct Row {
    bool connected;
    int silent_ms;
    LeaseState want;
  };
  const Row rows[] = {
      {true, 0, LeaseState::open},          {true, 1999, LeaseState::open},
      {true, 2000, LeaseState::suspended},  {false, 0, LeaseState::open},
      {false, 1999, LeaseState::open},      {false, 2000, LeaseState::suspended},
      {false, 2001, LeaseState::suspended}, {false, 60000, LeaseState::suspended},
  };
  const Clock::time_point now = Clock::time_point(2h);
  for (const Row& r : rows) {
    zk::ConnectionState c;
    c.session_epoch = 3;
    c.connected = r.connected;
    c.session_timeout = 3000ms;
    c.last_contact = now - std::chrono::milliseconds(r.silent_ms);
    EXPECT_EQ(lease_verdict(c, 3, now).state, r.want)
        << "connected " << r.connected << ", silent " << r.silent_ms << " ms";
    c.expired = true;
    EXPECT_EQ(lease_verdict(c, 3, now).state, LeaseState::expired);
    c.expired = false;
    EXPECT_EQ(lease_verdict(c, 2, now).state, LeaseState::expired) << "another session's";
  }
}

}  // namespace
