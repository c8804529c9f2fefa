// zk::Client and EmbeddedZooKeeper against a real ZooKeeper server: CRUD and error mapping, multi
// atomicity, the 1 MB refusal, calls from threads and fibers (a call suspends only its fiber),
// server outages (calls fail with unavailable within the request timeout, then recover), and
// session expiry (a new session, a new epoch, ephemerals gone).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/fiber/all.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "cluster/zk_server.hpp"
#include "coordination/zk_client.hpp"
#include "tests/support/assert_ok.hpp"
#include "tests/support/zk_fixture.hpp"

using namespace sleet;
using namespace std::chrono_literals;
using sleet::test::wait_until;
using Clock = std::chrono::steady_clock;

namespace {

class ZkClientTest : public sleet::test::ZkTest {};

Code code_of(const Status& s) {
  return s.code();
}
template <class T>
Code code_of(const Result<T>& r) {
  return r.status().code();
}

TEST_F(ZkClientTest, CreateGetSetExistsChildrenRemove) {
  auto& c = client();
  std::string p = root() + "/node";
  EXPECT_EQ(code_of(c.get(p)), Code::not_found);
  auto ex = c.exists(p);
  ASSERT_TRUE(ex.ok());
  EXPECT_FALSE(ex->has_value());

  ASSERT_OK(c.create(p, std::string("hello\0world", 11)));
  EXPECT_EQ(code_of(c.create(p, "again")), Code::already_exists);
  int version = -7;
  auto got = c.get(p, &version);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, std::string("hello\0world", 11));  // binary-safe
  EXPECT_EQ(version, 0);

  auto v1 = c.set(p, "two");
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(*v1, 1);
  auto v2 = c.set(p, "three", 1);  // matching version
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(*v2, 2);
  auto stale = c.set(p, "four", 1);  // stale version
  EXPECT_EQ(code_of(stale), Code::fenced) << stale.status().to_string();
  EXPECT_EQ(*c.get(p), "three");
  EXPECT_EQ(**c.exists(p), 2);

  ASSERT_OK(c.create(p + "/a", ""));
  ASSERT_OK(c.create(p + "/b", "x"));
  auto kids = c.children(p);
  ASSERT_TRUE(kids.ok());
  EXPECT_EQ(std::set<std::string>(kids->begin(), kids->end()), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(code_of(c.children(root() + "/none")), Code::not_found);

  EXPECT_EQ(code_of(c.remove(p)), Code::invalid_argument);  // has children
  EXPECT_EQ(code_of(c.remove(p + "/a", 5)), Code::fenced);
  ASSERT_OK(c.remove(p + "/a"));
  EXPECT_EQ(code_of(c.remove(p + "/a")), Code::not_found);
  EXPECT_EQ(code_of(c.set(p + "/a", "x")), Code::not_found);
  EXPECT_EQ(code_of(c.create(root() + "/no/parent", "")), Code::not_found);
}

TEST_F(ZkClientTest, EnsurePathAndRemoveRecursive) {
  auto& c = client();
  std::string deep = root() + "/a/b/c/d";
  ASSERT_OK(c.ensure_path(deep));
  ASSERT_OK(c.ensure_path(deep));  // idempotent
  ASSERT_TRUE(c.exists(deep)->has_value());
  ASSERT_OK(c.create(root() + "/a/b/x", "1"));
  ASSERT_OK(c.create(root() + "/a/y", "2"));
  ASSERT_OK(c.remove_recursive(root() + "/a"));
  EXPECT_FALSE(c.exists(root() + "/a")->has_value());
  ASSERT_OK(c.remove_recursive(root() + "/a"));  // absent: still ok
  EXPECT_TRUE(c.exists(root())->has_value());
}

TEST_F(ZkClientTest, RejectsBadPaths) {
  auto& c = client();
  for (std::string bad : {"", "relative", "/trailing/", "/double//slash", "/dot/./x", "/up/.."}) {
    EXPECT_EQ(code_of(c.get(bad)), Code::invalid_argument) << "'" << bad << "'";
    EXPECT_EQ(code_of(c.create(bad, "")), Code::invalid_argument) << "'" << bad << "'";
  }
  EXPECT_EQ(code_of(c.multi({zk::Op::create("bad", "")})), Code::invalid_argument);
}

TEST_F(ZkClientTest, EphemeralNodeVanishesWithItsSession) {
  auto other = zk_server().client();
  std::string p = root() + "/eph";
  ASSERT_OK(other->create(p, "mine", /*ephemeral=*/true));
  EXPECT_TRUE(client().exists(p)->has_value());
  other.reset();  // zookeeper_close ends the session at once
  EXPECT_FALSE(client().exists(p)->has_value());
}

TEST_F(ZkClientTest, MultiAppliesAllOps) {
  auto& c = client();
  std::string gen = root() + "/gen", latest = root() + "/latest", old = root() + "/old";
  ASSERT_OK(c.create(gen, ""));
  ASSERT_OK(c.create(latest, "0"));
  ASSERT_OK(c.create(old, ""));
  ASSERT_OK(c.multi({zk::Op::check(gen, 0), zk::Op::create(root() + "/cp1", "manifest"),
                     zk::Op::set(latest, "1"), zk::Op::remove(old)}));
  EXPECT_EQ(*c.get(root() + "/cp1"), "manifest");
  EXPECT_EQ(*c.get(latest), "1");
  EXPECT_FALSE(c.exists(old)->has_value());
  ASSERT_OK(c.multi({}));  // nothing to do
}

TEST_F(ZkClientTest, MultiIsAtomicAndNamesTheFailingOp) {
  auto& c = client();
  std::string gen = root() + "/gen", latest = root() + "/latest";
  ASSERT_OK(c.create(gen, ""));
  ASSERT_OK(c.create(latest, "0"));
  ASSERT_TRUE(c.set(gen, "bumped").ok());  // version 1 now

  // A failed check anywhere in the multi: fenced, and nothing before or after it is applied.
  Status st = c.multi(
      {zk::Op::create(root() + "/cp1", "m"), zk::Op::check(gen, 0), zk::Op::set(latest, "1")});
  EXPECT_EQ(st.code(), Code::fenced) << st.to_string();
  EXPECT_NE(st.message().find(gen), std::string::npos) << st.message();
  EXPECT_FALSE(c.exists(root() + "/cp1")->has_value());
  EXPECT_EQ(*c.get(latest), "0");

  // A failing create after a successful set: already_exists, and the set is rolled back.
  ASSERT_OK(c.create(root() + "/dup", ""));
  st = c.multi({zk::Op::set(latest, "2"), zk::Op::create(root() + "/dup", "")});
  EXPECT_EQ(st.code(), Code::already_exists) << st.to_string();
  EXPECT_NE(st.message().find("multi op 1"), std::string::npos) << st.message();
  EXPECT_EQ(*c.get(latest), "0");

  // A check of a missing node is a failed check too.
  st = c.multi({zk::Op::check(root() + "/missing", 0), zk::Op::set(latest, "3")});
  EXPECT_EQ(st.code(), Code::fenced) << st.to_string();
  EXPECT_EQ(*c.get(latest), "0");
}

TEST_F(ZkClientTest, RefusesRequestsOverOneMegabyteBeforeSending) {
  auto& c = client();
  std::string p = root() + "/big";
  ASSERT_OK(c.create(p, ""));
  std::string too_big(1'000'001, 'x');
  Status st = c.set(p, too_big).status();
  EXPECT_EQ(st.code(), Code::invalid_argument) << st.to_string();
  EXPECT_EQ(code_of(c.create(root() + "/big2", too_big)), Code::invalid_argument);
  std::string half(600'000, 'y');
  EXPECT_EQ(code_of(c.multi({zk::Op::set(p, half), zk::Op::create(root() + "/big3", half)})),
            Code::invalid_argument);
  // Refused locally: the session was not dropped, and the same client works at once.
  EXPECT_TRUE(c.connected());
  EXPECT_EQ(c.session_epoch(), 1u);
  std::string fits(900'000, 'z');
  ASSERT_TRUE(c.set(p, fits).ok());
  EXPECT_EQ(c.get(p)->size(), fits.size());
  EXPECT_FALSE(c.exists(root() + "/big3")->has_value());
}

TEST_F(ZkClientTest, CallsFromManyThreadsAtOnce) {
  auto& c = client();
  constexpr int kThreads = 4, kOps = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string p = root() + "/t" + std::to_string(t);
      if (!c.create(p, "").ok()) ++failures;
      for (int i = 0; i < kOps; ++i) {
        if (!c.set(p, std::to_string(i)).ok()) ++failures;
        auto g = c.get(p);
        if (!g.ok() || *g != std::to_string(i)) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(c.children(root())->size(), static_cast<size_t>(kThreads));
}

// Two fibers on one thread: while `caller` waits for ZooKeeper replies, `ticker` keeps running.
// If a call blocked the thread, `ticker` could only observe caller's progress before or after
// the whole loop, never in between.
TEST_F(ZkClientTest, CallFromAFiberSuspendsOnlyThatFiber) {
  auto& c = client();
  std::string p = root() + "/fiber";
  ASSERT_OK(c.create(p, ""));
  constexpr int kCalls = 100;
  std::atomic<int> progress{0};
  std::set<int> seen;
  int failures = 0;
  std::thread runner([&] {
    boost::fibers::fiber caller([&] {
      for (int i = 0; i < kCalls; ++i) {
        if (!c.set(p, std::to_string(i)).ok()) ++failures;
        progress = i + 1;
      }
    });
    boost::fibers::fiber ticker([&] {
      while (progress < kCalls) {
        seen.insert(progress.load());
        boost::this_fiber::yield();
      }
    });
    caller.join();
    ticker.join();
  });
  runner.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(*c.get(p), std::to_string(kCalls - 1));
  // The ticker ran during the caller's waits, seeing most intermediate progress values.
  EXPECT_GT(seen.size(), static_cast<size_t>(kCalls / 2)) << "calls blocked the thread";
}

TEST_F(ZkClientTest, ConnectFailsWithinDeadlineWhenNoServer) {
  zk::Options o;
  o.connect = "127.0.0.1:" + std::to_string(sleet::test::free_port());
  auto t0 = Clock::now();
  auto c = zk::Client::connect(o, 500ms);
  auto took = Clock::now() - t0;
  EXPECT_EQ(code_of(c), Code::unavailable);
  EXPECT_LT(took, 3s);
  o.connect = "";
  EXPECT_EQ(code_of(zk::Client::connect(o, 500ms)), Code::invalid_argument);
}

// The server goes away: calls (from a thread and from fibers) fail with unavailable within the
// request timeout, never hang; other fibers keep running meanwhile. The server comes back: the
// same client reconnects and works, with its session (and ephemeral nodes) intact.
TEST_F(ZkClientTest, ServerOutageThenRestart) {
  auto o = zk_server().options(/*request_timeout=*/800ms, /*session_timeout=*/6s);
  auto c = zk_server().client(o);
  std::string p = root() + "/outage", eph = root() + "/eph";
  ASSERT_OK(c->create(p, "before"));
  ASSERT_OK(c->create(eph, "", true));
  uint64_t epoch = c->session_epoch();

  ASSERT_OK(zk_server().server().stop());
  ASSERT_TRUE(wait_until([&] { return !c->connected(); }, 10s));

  auto t0 = Clock::now();
  auto r = c->get(p);
  auto took = Clock::now() - t0;
  EXPECT_EQ(code_of(r), Code::unavailable) << r.status().to_string();
  EXPECT_LT(took, o.request_timeout + 1s);
  EXPECT_EQ(code_of(c->set(p, "during")), Code::unavailable);

  // Fibers: three ZooKeeper calls fail on their own fibers while a fourth fiber keeps ticking.
  std::atomic<int> unavailable{0};
  std::atomic<int> ticks{0};
  std::atomic<bool> done{false};
  std::thread runner([&] {
    std::vector<boost::fibers::fiber> callers;
    for (int i = 0; i < 3; ++i)
      callers.emplace_back([&] {
        if (c->get(p).status().code() == Code::unavailable) ++unavailable;
      });
    boost::fibers::fiber ticker([&] {
      while (!done) {
        ++ticks;
        boost::this_fiber::sleep_for(10ms);
      }
    });
    for (auto& f : callers) f.join();
    done = true;
    ticker.join();
  });
  runner.join();
  EXPECT_EQ(unavailable.load(), 3);
  EXPECT_GT(ticks.load(), 10);  // ~80 expected over 800 ms; a blocked thread gives 1

  ASSERT_OK(zk_server().server().restart());
  ASSERT_TRUE(wait_until([&] { return c->connected(); }, 15s));
  auto after = c->get(p);
  ASSERT_TRUE(after.ok()) << after.status().to_string();
  EXPECT_EQ(*after, "before");
  ASSERT_TRUE(c->set(p, "after").ok());
  // Back within the session timeout: same session, so the ephemeral node survived.
  EXPECT_EQ(c->session_epoch(), epoch);
  EXPECT_TRUE(c->exists(eph)->has_value());
}

TEST_F(ZkClientTest, ExpiredSessionIsReplacedTransparently) {
  auto o = zk_server().options(/*request_timeout=*/3s, /*session_timeout=*/4s);
  auto c = zk_server().client(o);
  std::string eph = root() + "/eph";
  ASSERT_OK(c->create(eph, "", true));
  EXPECT_EQ(c->session_epoch(), 1u);
  int64_t first = c->session_id();
  EXPECT_NE(first, 0);

  ASSERT_OK(c->expire_session_for_testing(10s));
  ASSERT_TRUE(wait_until([&] { return c->session_epoch() == 2 && c->connected(); }, 15s))
      << "epoch " << c->session_epoch();
  EXPECT_NE(c->session_id(), first);
  // The old session's ephemeral node is gone; the new session works and can re-create it.
  auto ex = c->exists(eph);
  ASSERT_TRUE(ex.ok()) << ex.status().to_string();
  EXPECT_FALSE(ex->has_value());
  ASSERT_OK(c->create(eph, "", true));
}

TEST_F(ZkClientTest, SequentialCreatesReturnIncreasingNames) {
  auto& c = client();
  std::string dir = root() + "/seq";
  ASSERT_OK(c.create(dir, ""));
  std::vector<std::string> names;
  for (int i = 0; i < 3; ++i) {
    auto r =
        c.create_node(dir + "/item-", std::to_string(i), zk::CreateMode::persistent_sequential);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    ASSERT_EQ(r->rfind(dir + "/item-", 0), 0u) << *r;
    EXPECT_EQ(r->size(), dir.size() + 6 + 10) << *r;  // a 10-digit counter
    names.push_back(*r);
  }
  EXPECT_LT(names[0], names[1]);
  EXPECT_LT(names[1], names[2]);
  EXPECT_EQ(*c.get(names[2]), "2");
  // A sequential path may end with '/'; the counter is shared by the parent's children.
  auto eph = c.create_node(dir + "/", "e", zk::CreateMode::ephemeral_sequential);
  ASSERT_TRUE(eph.ok()) << eph.status().to_string();
  EXPECT_EQ(*eph, dir + "/0000000003");
  auto st = c.stat(*eph);
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_EQ((*st)->ephemeral_owner, c.session_id());
  EXPECT_EQ((**c.stat(names[0])).ephemeral_owner, 0);
  EXPECT_EQ((**c.stat(dir)).num_children, 4);
  EXPECT_FALSE(c.stat(dir + "/none")->has_value());
  // Plain modes return the path itself.
  auto plain = c.create_node(dir + "/plain", "", zk::CreateMode::persistent);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, dir + "/plain");
  EXPECT_EQ(code_of(c.create_node(dir + "/plain", "", zk::CreateMode::ephemeral)),
            Code::already_exists);
  EXPECT_EQ(
      code_of(c.create_node(root() + "/no/parent-", "", zk::CreateMode::persistent_sequential)),
      Code::not_found);
}

TEST_F(ZkClientTest, WatchesFireOnceOnChangesMadeByAnotherSession) {
  auto& c = client();
  auto other = zk_server().client();
  std::string p = root() + "/w";

  zk::Watch created;
  auto ex = c.exists(p, created);
  ASSERT_TRUE(ex.ok());
  EXPECT_FALSE(ex->has_value());
  ASSERT_TRUE(created.armed());
  EXPECT_EQ(code_of(created.wait_for(30ms)), Code::timeout);  // nothing happened yet
  ASSERT_OK(other->create(p, "v1"));
  auto ev = created.wait_for(10s);
  ASSERT_TRUE(ev.ok()) << ev.status().to_string();
  EXPECT_EQ(ev->type, zk::WatchEvent::Type::created);
  EXPECT_EQ(ev->path, p);
  EXPECT_TRUE(created.fired());
  EXPECT_TRUE(created.wait_for(0ms).ok());  // waiting again returns the same event

  zk::Watch changed;
  int version = -1;
  auto got = c.get(p, changed, &version);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "v1");
  EXPECT_EQ(version, 0);
  zk::Watch kids;
  auto none = c.children(p, kids);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  ASSERT_TRUE(other->set(p, "v2").ok());
  ev = changed.wait_for(10s);
  ASSERT_TRUE(ev.ok()) << ev.status().to_string();
  EXPECT_EQ(ev->type, zk::WatchEvent::Type::changed);
  EXPECT_FALSE(kids.fired());  // a data change is not a children change

  ASSERT_OK(other->create(p + "/k", ""));
  ev = kids.wait_for(10s);
  ASSERT_TRUE(ev.ok()) << ev.status().to_string();
  EXPECT_EQ(ev->type, zk::WatchEvent::Type::children);

  zk::Watch deleted;
  ASSERT_TRUE(c.get(p + "/k", deleted).ok());
  ASSERT_OK(other->remove(p + "/k"));
  ev = deleted.wait_for(10s);
  ASSERT_TRUE(ev.ok()) << ev.status().to_string();
  EXPECT_EQ(ev->type, zk::WatchEvent::Type::deleted);
  EXPECT_EQ(ev->path, p + "/k");

  // get and children of an absent node fail and arm nothing.
  zk::Watch unarmed;
  EXPECT_EQ(code_of(c.get(root() + "/absent", unarmed)), Code::not_found);
  EXPECT_FALSE(unarmed.armed());
  EXPECT_EQ(code_of(c.children(root() + "/absent", unarmed)), Code::not_found);
  EXPECT_FALSE(unarmed.armed());
  EXPECT_EQ(code_of(unarmed.wait_for(0ms)), Code::invalid_argument);
}

TEST_F(ZkClientTest, AWatchWaitedOnAFiberSuspendsOnlyThatFiber) {
  auto other = zk_server().client();
  std::string p = root() + "/fw";
  ASSERT_OK(client().create(p, "a"));
  std::atomic<int> ticks{0};
  std::atomic<bool> armed{false};
  Result<zk::WatchEvent> got = Status::Internal("not waited");
  std::thread runner([&] {
    boost::fibers::fiber waiter([&] {
      zk::Watch w;
      if (!client().get(p, w).ok()) return;
      armed = true;
      got = w.wait_for(10s);
    });
    boost::fibers::fiber ticker([&] {
      while (!armed || ticks < 5) {
        ++ticks;
        boost::this_fiber::sleep_for(2ms);
      }
    });
    ticker.join();
    waiter.join();
  });
  // The ticker runs beside the waiting fiber; only then change the node.
  ASSERT_TRUE(wait_until([&] { return armed.load() && ticks.load() >= 5; }, 10s));
  ASSERT_TRUE(other->set(p, "b").ok());
  runner.join();
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->type, zk::WatchEvent::Type::changed);
}

TEST_F(ZkClientTest, WatchesReturnUnavailableWhenTheSessionExpiresOrTheClientCloses) {
  auto o = zk_server().options(/*request_timeout=*/3s, /*session_timeout=*/4s);
  auto c = zk_server().client(o);
  std::string p = root() + "/x";
  ASSERT_OK(c->create(p, ""));
  zk::Watch data, kids, absent;
  ASSERT_TRUE(c->get(p, data).ok());
  ASSERT_TRUE(c->children(p, kids).ok());
  ASSERT_TRUE(c->exists(root() + "/later", absent).ok());

  ASSERT_OK(c->expire_session_for_testing(10s));
  for (zk::Watch* w : {&data, &kids, &absent}) {
    auto ev = w->wait_for(15s);
    ASSERT_FALSE(ev.ok());
    EXPECT_EQ(ev.status().code(), Code::unavailable) << ev.status().to_string();
    EXPECT_NE(ev.status().message().find("expired"), std::string::npos) << ev.status().message();
  }
  // The new session's watches work.
  ASSERT_TRUE(wait_until([&] { return c->session_epoch() == 2 && c->connected(); }, 15s));
  zk::Watch fresh;
  ASSERT_TRUE(c->get(p, fresh).ok());
  ASSERT_TRUE(client().set(p, "y").ok());
  ASSERT_TRUE(fresh.wait_for(10s).ok());

  // Closing the client fails the watches it still has armed; the Watch outlives the client.
  zk::Watch orphan;
  ASSERT_TRUE(c->get(p, orphan).ok());
  c.reset();
  auto ev = orphan.wait_for(5s);
  ASSERT_FALSE(ev.ok());
  EXPECT_EQ(ev.status().code(), Code::unavailable) << ev.status().to_string();
  EXPECT_NE(ev.status().message().find("closed"), std::string::npos) << ev.status().message();
}

TEST_F(ZkClientTest, AWatchSurvivesAConnectionLossWithinItsSession) {
  auto o = zk_server().options(/*request_timeout=*/2s, /*session_timeout=*/20s);
  auto c = zk_server().client(o);
  std::string p = root() + "/survive";
  ASSERT_OK(c->create(p, "a"));
  zk::Watch w;
  ASSERT_TRUE(c->get(p, w).ok());
  uint64_t epoch = c->session_epoch();
  ASSERT_OK(zk_server().server().stop());
  ASSERT_TRUE(wait_until([&] { return !c->connected(); }, 10s));
  ASSERT_OK(zk_server().server().restart());
  ASSERT_TRUE(wait_until([&] { return c->connected(); }, 20s));
  EXPECT_FALSE(w.fired());  // a disconnection is not the watch's event
  auto other = zk_server().client();
  ASSERT_TRUE(other->set(p, "b").ok());
  auto ev = w.wait_for(10s);
  ASSERT_TRUE(ev.ok()) << ev.status().to_string();
  EXPECT_EQ(ev->type, zk::WatchEvent::Type::changed);
  EXPECT_EQ(c->session_epoch(), epoch);
}

TEST(EmbeddedZooKeeper, RefusesAPortInUseAndAMissingJar) {
  sleet::test::TempDir dir;
  // A listening socket on the port: the server cannot have it.
  sleet::test::ListeningSocket taken;
  int port = taken.port();
  auto r = EmbeddedZooKeeper::start(dir.path(), port, 5s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable);
  EXPECT_NE(r.status().message().find("in use"), std::string::npos) << r.status().to_string();

  EmbeddedZooKeeper::Settings settings;
  settings.jar = "/nonexistent/zookeeper.jar";
  auto r2 = EmbeddedZooKeeper::start(dir.path(), 0, 5s, settings);
  EXPECT_EQ(code_of(r2), Code::not_found);
  settings = {};
  settings.java = "/nonexistent/java";
  auto r3 = EmbeddedZooKeeper::start(dir.path(), 0, 5s, settings);
  EXPECT_EQ(code_of(r3), Code::not_found) << r3.status().to_string();
}

TEST_F(ZkClientTest, ServerAnswersFourLetterWords) {
  auto& s = zk_server().server();
  EXPECT_GT(s.pid(), 0);
  auto r = EmbeddedZooKeeper::four_letter(s.port(), "ruok", 2s);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, "imok");
  auto srvr = EmbeddedZooKeeper::four_letter(s.port(), "srvr", 2s);
  ASSERT_TRUE(srvr.ok());
  EXPECT_NE(srvr->find("Mode: standalone"), std::string::npos) << *srvr;
  EXPECT_EQ(s.connect_string(), "127.0.0.1:" + std::to_string(s.port()));
}

}  // namespace
