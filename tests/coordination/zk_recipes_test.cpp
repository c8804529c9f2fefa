// The election and membership recipes (coordination/election.*, membership.*) against a real
// ZooKeeper server: one leader among three candidates, only the successor woken when a leader's
// session expires or closes (wakeups counted), a lost create reply's node adopted by its token,
// membership lists that follow joins, leaves and session loss. Every wait has a deadline.
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "coordination/election.hpp"
#include "coordination/membership.hpp"
#include "tests/support/assert_ok.hpp"
#include "tests/support/zk_fixture.hpp"

using namespace sleet;
using namespace std::chrono_literals;
using sleet::test::wait_until;
using Clock = std::chrono::steady_clock;

namespace {

class ZkRecipesTest : public sleet::test::ZkTest {};

// A candidate waiting for leadership on its own thread.
struct Waiter {
  std::atomic<bool> done{false};
  Status result;
  std::thread thread;
  Waiter(zk::Election& e, std::chrono::milliseconds timeout) {
    thread = std::thread([this, &e, timeout] {
      result = e.wait_for_leadership(Clock::now() + timeout);
      done = true;
    });
  }
  ~Waiter() {
    if (thread.joinable()) thread.join();
  }
  Status join() {
    thread.join();
    return result;
  }
};

TEST_F(ZkRecipesTest, ThreeCandidatesElectOneAndALossWakesOnlyTheSuccessor) {
  auto o = zk_server().options(/*request_timeout=*/3s, /*session_timeout=*/4s);
  std::vector<std::unique_ptr<zk::Client>> c;
  std::vector<std::unique_ptr<zk::Election>> e;
  std::string dir = root() + "/election";
  for (int i = 0; i < 3; ++i) {
    c.push_back(zk_server().client(o));
    e.push_back(std::make_unique<zk::Election>(*c[i], dir, "w" + std::to_string(i)));
  }
  for (int i = 0; i < 3; ++i) {
    auto r = e[i]->check();
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(*r, i == 0) << i;
    EXPECT_EQ(e[i]->is_leader(), i == 0);
  }
  EXPECT_LT(zk::Election::sequence_of(e[0]->node()), zk::Election::sequence_of(e[1]->node()));
  EXPECT_LT(zk::Election::sequence_of(e[1]->node()), zk::Election::sequence_of(e[2]->node()));
  EXPECT_EQ(*e[2]->leader(), "w0");

  Waiter w1(*e[1], 30s), w2(*e[2], 60s);
  // The leader's session expires: w1, watching it, leads; w2 watches w1 and is not woken.
  ASSERT_OK(c[0]->expire_session_for_testing(10s));
  ASSERT_OK(w1.join());
  EXPECT_TRUE(e[1]->is_leader());
  EXPECT_EQ(e[1]->wakeups(), 1u);
  EXPECT_EQ(*e[2]->leader(), "w1");
  ASSERT_TRUE(wait_until([&] { return c[0]->session_epoch() == 2; }, 15s));
  EXPECT_FALSE(e[0]->is_leader());  // known without a request
  // The expired candidate enters again, at the back (behind w2).
  auto again = e[0]->check();
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_FALSE(*again);
  EXPECT_GT(zk::Election::sequence_of(e[0]->node()), zk::Election::sequence_of(e[2]->node()));
  Waiter w0(*e[0], 60s);

  // The leader closes its client: only w2 is woken.
  e[1].reset();
  c[1].reset();
  ASSERT_OK(w2.join());
  EXPECT_TRUE(e[2]->is_leader());
  EXPECT_EQ(e[2]->wakeups(), 1u);  // 2 if the first loss had woken it too (herd effect)
  EXPECT_EQ(*e[0]->leader(), "w2");
  EXPECT_FALSE(w0.done.load());
  EXPECT_EQ(e[0]->wakeups(), 0u);

  // The leader resigns: the last candidate leads.
  ASSERT_OK(e[2]->resign());
  EXPECT_FALSE(e[2]->is_leader());
  ASSERT_OK(w0.join());
  EXPECT_TRUE(e[0]->is_leader());
  EXPECT_EQ(e[0]->wakeups(), 1u);
  auto kids = c[0]->children(dir);
  ASSERT_TRUE(kids.ok());
  EXPECT_EQ(kids->size(), 1u);  // resigned and closed candidates are gone
}

TEST_F(ZkRecipesTest, ALeaderLearnsOfItsLossAndWaitsAreBounded) {
  auto o = zk_server().options(/*request_timeout=*/3s, /*session_timeout=*/4s);
  auto c0 = zk_server().client(o);
  auto c1 = zk_server().client(o);
  std::string dir = root() + "/election";
  zk::Election e0(*c0, dir, "a"), e1(*c1, dir, "b");
  EXPECT_EQ(e0.wait_while_leader(Clock::now() + 10ms).code(), Code::invalid_argument);
  ASSERT_OK(e0.wait_for_leadership(Clock::now() + 10s));
  // Not the leader while a stays: a bounded wait ends in timeout, and so does a's watch on itself.
  auto t0 = Clock::now();
  Status st = e1.wait_for_leadership(Clock::now() + 200ms);
  EXPECT_EQ(st.code(), Code::timeout) << st.to_string();
  EXPECT_LT(Clock::now() - t0, 5s);
  EXPECT_EQ(e0.wait_while_leader(Clock::now() + 50ms).code(), Code::timeout);

  std::atomic<bool> lost{false};
  std::thread leader([&] {
    if (e0.wait_while_leader(Clock::now() + 30s).ok()) lost = true;
  });
  ASSERT_OK(c0->expire_session_for_testing(10s));
  leader.join();
  EXPECT_TRUE(lost.load());
  EXPECT_FALSE(e0.is_leader());
  ASSERT_OK(e1.wait_for_leadership(Clock::now() + 20s));
  EXPECT_EQ(*e1.leader(), "b");
}

TEST_F(ZkRecipesTest, ACandidateAdoptsTheNodeOfACreateWhoseReplyWasLost) {
  auto& c = client();
  auto other = zk_server().client();
  std::string dir = root() + "/election";
  zk::Election first(*other, dir, "first");
  ASSERT_TRUE(*first.check());
  zk::Election e(c, dir, "me");
  // As if two creates had reached the server and their replies were lost: both carry e's token.
  std::string prefix = dir + "/c_" + e.token() + "-n_";
  auto n1 = c.create_node(prefix, "me", zk::CreateMode::ephemeral_sequential);
  auto n2 = c.create_node(prefix, "me", zk::CreateMode::ephemeral_sequential);
  ASSERT_TRUE(n1.ok() && n2.ok());
  auto r = e.check();
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_FALSE(*r);
  EXPECT_EQ(dir + "/" + e.node(), *n1);  // the lowest is kept, no third one created
  EXPECT_FALSE(c.exists(*n2)->has_value());
  EXPECT_EQ(c.children(dir)->size(), 2u);
  Waiter w(e, 10s);
  ASSERT_OK(first.resign());
  ASSERT_OK(w.join());
  EXPECT_EQ(dir + "/" + e.node(), *n1);
}

TEST(WorkerInfo, EncodesAndDecodes) {
  zk::WorkerInfo w{"w1", "127.0.0.10:7100", 3, 4242, "host-a"};
  auto back = zk::decode_worker_info("w1", zk::encode_worker_info(w));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, w);
  EXPECT_EQ(zk::decode_worker_info("w1", "address=a\nslots=x\npid=1\nhost=h\n").status().code(),
            Code::corruption);
  EXPECT_EQ(zk::decode_worker_info("w1", "address=a\npid=1\nhost=h\n").status().code(),
            Code::corruption);
  EXPECT_EQ(zk::decode_worker_info("w1", "garbage").status().code(), Code::corruption);
}

// The metrics server's host:port travels in the entry; an entry written before the field existed
// still decodes (metrics empty).
TEST(WorkerInfo, CarriesTheMetricsAddressAndDecodesOldEntries) {
  zk::WorkerInfo w{"w1", "127.0.0.10:7100", 3, 4242, "host-a", "127.0.0.1:9464"};
  auto back = zk::decode_worker_info("w1", zk::encode_worker_info(w));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->metrics, "127.0.0.1:9464");
  EXPECT_NE(zk::encode_worker_info(w).find("metrics=127.0.0.1:9464\n"), std::string::npos);
  auto old = zk::decode_worker_info("w1", "address=a:1\nslots=1\npid=1\nhost=h\n");
  ASSERT_TRUE(old.ok()) << old.status().to_string();
  EXPECT_EQ(old->metrics, "");
}

std::vector<std::string> ids(const std::vector<zk::WorkerInfo>& ws) {
  std::vector<std::string> out;
  for (const auto& w : ws) out.push_back(w.id);
  return out;
}

// Follows m's live list until it equals `want` (each wait bounded by the one deadline).
bool list_becomes(zk::Membership& m, const std::vector<std::string>& want,
                  std::vector<zk::WorkerInfo>* last = nullptr) {
  auto until = Clock::now() + 20s;
  while (true) {
    auto r = m.wait_for_change(until);
    if (!r.ok()) {
      if (r.status().code() == Code::timeout) return false;
      continue;  // unavailable: the next call re-reads
    }
    if (last) *last = *r;
    if (ids(*r) == want) return true;
  }
}

TEST_F(ZkRecipesTest, MembershipFollowsJoinsLeavesAndSessionLoss) {
  auto o = zk_server().options(/*request_timeout=*/3s, /*session_timeout=*/4s);
  auto c1 = zk_server().client(o), c2 = zk_server().client(o), c3 = zk_server().client(o);
  std::string dir = root() + "/workers";
  zk::Membership m1(*c1, dir, {"w1", "127.0.0.11:7000", 1, getpid(), "h1"});
  zk::Membership m2(*c2, dir, {"w2", "127.0.0.12:7000", 2, getpid(), "h2"});
  zk::Membership m3(*c3, dir, {"w3", "127.0.0.13:7000", 3, getpid(), "h3"});
  ASSERT_OK(m3.join());
  EXPECT_TRUE(m3.joined());
  ASSERT_TRUE(list_becomes(m3, {"w3"}));
  ASSERT_OK(m2.join());
  ASSERT_OK(m1.join());
  std::vector<zk::WorkerInfo> seen;
  ASSERT_TRUE(list_becomes(m3, {"w1", "w2", "w3"}, &seen));  // sorted by id
  EXPECT_EQ(seen[1], m2.self());

  // w2's session expires: its node goes, its own watch fires, the others see it. The watch may
  // fire as a child change (the server deletes w2's ephemeral node and can deliver that event on
  // the dying connection before it closes) or as unavailable (the session event came first);
  // both are right, a timeout is not (CI run of stop 18 saw the first order).
  zk::Watch w2watch;
  ASSERT_TRUE(m2.live(&w2watch).ok());
  ASSERT_OK(c2->expire_session_for_testing(10s));
  auto ev = w2watch.wait_for(15s);
  if (ev.ok())
    EXPECT_EQ(ev->type, zk::WatchEvent::Type::children);
  else
    EXPECT_EQ(ev.status().code(), Code::unavailable) << ev.status().to_string();
  ASSERT_TRUE(list_becomes(m3, {"w1", "w3"}));
  ASSERT_TRUE(wait_until([&] { return c2->session_epoch() == 2; }, 15s));
  EXPECT_FALSE(m2.joined());
  ASSERT_OK(m2.ensure_joined());
  EXPECT_TRUE(m2.joined());
  ASSERT_TRUE(list_becomes(m3, {"w1", "w2", "w3"}));

  // wait_for_change re-joins on its own after the session is replaced.
  ASSERT_TRUE(list_becomes(m2, {"w1", "w2", "w3"}));  // arms m2's watch
  ASSERT_OK(c2->expire_session_for_testing(10s));
  ASSERT_TRUE(list_becomes(m2, {"w1", "w2", "w3"}));
  EXPECT_EQ(c2->session_epoch(), 3u);
  EXPECT_TRUE(m2.joined());

  ASSERT_OK(m1.leave());
  ASSERT_TRUE(list_becomes(m3, {"w2", "w3"}));
  // A client that closes leaves too.
  c1.reset();
  ASSERT_OK(m3.leave());
  ASSERT_TRUE(list_becomes(m3, {"w2"}));
}

TEST_F(ZkRecipesTest, ASecondWorkerWithTheSameIdIsRefused) {
  auto other = zk_server().client();
  std::string dir = root() + "/workers";
  zk::Membership a(client(), dir, {"w1", "127.0.0.11:7000", 1, 1, "h"});
  ASSERT_OK(a.join());
  ASSERT_OK(a.join());  // idempotent in the same session
  zk::Membership b(*other, dir, {"w1", "127.0.0.99:7000", 1, 2, "h"});
  Status st = b.join();
  EXPECT_EQ(st.code(), Code::already_exists) << st.to_string();
  EXPECT_NE(st.message().find("already live"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("127.0.0.11:7000"), std::string::npos) << st.message();
  EXPECT_EQ(zk::Membership(client(), dir, {"a/b", "x", 1, 1, "h"}).join().code(),
            Code::invalid_argument);
}

}  // namespace
