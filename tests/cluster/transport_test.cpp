// The transport (cluster/transport.hpp) between Transports in this process over loopback TCP
// (127.0.0.1, ports chosen by the kernel), with real Inboxes popped by other threads. Raw
// sockets stand in for misbehaving peers. Every wait is bounded. Inboxes are declared before
// the Transports, so they outlive them, as an engine's inboxes outlive its generation.
#include "cluster/transport.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/fiber/all.hpp>

#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "cluster/frame_codec.hpp"
#include "runtime/inbox.hpp"
#include "tests/support/support.hpp"

namespace sleet::cluster {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

const Fields kFields{"word", "count"};

TransportOptions options(const std::string& id, size_t credits = 4) {
  TransportOptions o;
  o.topology = "wc";
  o.self_id = id;
  o.listen_host = "127.0.0.1";
  o.credits = credits;
  o.flush = 1ms;
  o.heartbeat = 20ms;
  o.heartbeat_timeout = 400ms;
  return o;
}

std::unique_ptr<Transport> start(TransportOptions o) {
  auto t = Transport::start(std::move(o));
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return std::move(t).value();
}

std::vector<Peer> peers_of(const std::vector<Transport*>& ts) {
  std::vector<Peer> out;
  for (size_t i = 0; i < ts.size(); ++i)
    out.push_back({static_cast<int>(i), "w" + std::to_string(i), "127.0.0.1", ts[i]->port()});
  return out;
}

std::chrono::steady_clock::time_point in(std::chrono::milliseconds d) {
  return std::chrono::steady_clock::now() + d;
}

Message batch(int first, int n) {
  Message m;
  m.kind = Message::Kind::data;
  for (int i = 0; i < n; ++i)
    m.tuples.emplace_back(
        &kFields, Values{Value("w" + std::to_string(first + i)), Value(int64_t{first + i})});
  return m;
}
Message barrier(int64_t id) {
  Message m;
  m.kind = Message::Kind::barrier;
  m.barrier = CheckpointId{id};
  return m;
}
Message end_of_stream() {
  Message m;
  m.kind = Message::Kind::end;
  return m;
}

// Two meshed Transports, w0 and w1, of generation 5.
struct Pair {
  explicit Pair(size_t credits = 4, std::function<void(TransportOptions&)> tweak = nullptr) {
    TransportOptions oa = options("w0", credits), ob = options("w1", credits);
    if (tweak) tweak(oa), tweak(ob);
    a = start(oa);
    b = start(ob);
    a->on_failure([this](const Status& s) { on_fail(0, s); });
    b->on_failure([this](const Status& s) { on_fail(1, s); });
    auto peers = peers_of({a.get(), b.get()});
    EXPECT_TRUE(a->begin_generation(Generation{5}, 0, peers).ok());
    EXPECT_TRUE(b->begin_generation(Generation{5}, 1, peers).ok());
    Status sa = a->await_mesh(in(5s)), sb = b->await_mesh(in(5s));
    EXPECT_TRUE(sa.ok()) << sa.to_string();
    EXPECT_TRUE(sb.ok()) << sb.to_string();
  }
  void on_fail(int who, const Status& s) {
    std::lock_guard lk(mu);
    failures[who].push_back(s);
  }
  std::vector<Status> failures_of(int who) {
    std::lock_guard lk(mu);
    return failures[who];
  }
  std::mutex mu;
  std::map<int, std::vector<Status>> failures;
  std::unique_ptr<Transport> a, b;
};

TEST(Transport, HandshakeMeshesBothWaysAndCountsNothingRefused) {
  Pair p;
  // w1 began generation 5 after w0: w0's first hello may have met "no generation" there (and
  // was retried), but w1's hello found w0 at 5.
  EXPECT_EQ(p.a->stats().refused, 0u);
  EXPECT_TRUE(p.failures_of(0).empty());
  EXPECT_TRUE(p.failures_of(1).empty());
  // A one-worker generation is meshed at once.
  auto solo = start(options("w0"));
  ASSERT_TRUE(solo->begin_generation(Generation{1}, 0, peers_of({solo.get()})).ok());
  EXPECT_TRUE(solo->await_mesh(in(1ms)).ok());
}

TEST(Transport, PeersOfAnotherGenerationOrTopologyAreRefusedAndDeliverNothing) {
  struct Case {
    const char* what;
    Generation b_gen;
    std::string b_topology;
    Code b_fails_with;  // what the mismatched worker's await_mesh reports
  };
  const std::vector<Case> cases = {
      {"older generation", Generation{4}, "wc", Code::fenced},
      {"newer generation", Generation{6}, "wc", Code::ok},  // it waits for w0 to catch up
      {"other topology", Generation{5}, "other", Code::incompatible},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Inbox inbox(1, 4);
    auto a = start(options("w0"));
    TransportOptions ob = options("w1");
    ob.topology = c.b_topology;
    auto b = start(ob);
    auto peers = peers_of({a.get(), b.get()});
    ASSERT_TRUE(a->begin_generation(Generation{5}, 0, peers).ok());
    ASSERT_TRUE(a->receiver(0, PlannedChannel{0, 1, 0, 0}, 1, inbox, &kFields).ok());
    ASSERT_TRUE(b->begin_generation(c.b_gen, 1, peers).ok());
    auto sender = b->sender(0, PlannedChannel{0, 1, 0, 0}, 0);
    ASSERT_TRUE(sender.ok());
    Status sb = b->await_mesh(in(c.b_fails_with == Code::ok ? 300ms : 5s));
    Status sa = a->await_mesh(in(300ms));
    // w0 never meshes with a worker of another generation or topology.
    EXPECT_FALSE(sa.ok());
    if (c.b_fails_with == Code::ok) {
      EXPECT_EQ(sb.code(), Code::timeout) << sb.to_string();
      EXPECT_NE(sb.message().find("refused the handshake (newer generation)"), std::string::npos)
          << sb.message();
    } else {
      EXPECT_EQ(sb.code(), c.b_fails_with) << sb.to_string();
      // Its sends fail instead of waiting for a connection that will never be.
      EXPECT_FALSE((*sender)->send(batch(0, 3), nullptr));
    }
    EXPECT_GE(a->stats().refused, 1u);
    EXPECT_EQ(a->stats().tuples_received, 0u);
    EXPECT_EQ(inbox.queued(), 0u);
  }
}

// A raw socket speaking the protocol, for peers the Transport would never be.
struct RawPeer {
  explicit RawPeer(uint16_t port) : socket(io) {
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  void send(const std::string& bytes) { asio::write(socket, asio::buffer(bytes)); }
  // The next frame, or an error (connection closed) within the deadline.
  Result<Frame> next_frame() {
    while (true) {
      auto r = decoder.next();
      if (!r.ok()) return r.status();
      if (*r) return decode_frame(**r);
      char buf[4096];
      boost::system::error_code ec;
      size_t n = socket.read_some(asio::buffer(buf), ec);
      if (ec) return Status::IoError(ec.message());
      decoder.feed(std::string_view(buf, n));
    }
  }
  asio::io_context io;
  tcp::socket socket;
  FrameDecoder decoder;
};

TEST(Transport, RawHellosOfTheWrongGenerationAreRefusedAndTheirFramesNeverDelivered) {
  struct Case {
    const char* what;
    Hello hello;
    HelloResult expect;
  };
  Inbox inbox(1, 4);
  auto a = start(options("w0"));
  std::vector<Peer> peers = {{0, "w0", "127.0.0.1", a->port()}, {1, "w1", "127.0.0.1", 1}};
  {
    // Between generations every hello is refused.
    RawPeer raw(a->port());
    std::string bytes;
    encode_hello(bytes, Hello{kProtocolVersion, "wc", Generation{5}, "w1", 1});
    raw.send(bytes);
    auto f = raw.next_frame();
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    EXPECT_EQ(std::get<HelloReply>(*f).result, HelloResult::no_generation);
  }
  ASSERT_TRUE(a->begin_generation(Generation{5}, 0, peers).ok());
  ASSERT_TRUE(a->receiver(0, PlannedChannel{0, 1, 0, 0}, 1, inbox, &kFields).ok());
  const std::vector<Case> cases = {
      {"older", {kProtocolVersion, "wc", Generation{4}, "w1", 1}, HelloResult::older_generation},
      {"newer", {kProtocolVersion, "wc", Generation{6}, "w1", 1}, HelloResult::newer_generation},
      {"topology", {kProtocolVersion, "xx", Generation{5}, "w1", 1}, HelloResult::wrong_topology},
      {"unknown id", {kProtocolVersion, "wc", Generation{5}, "w9", 1}, HelloResult::unknown_worker},
      {"itself", {kProtocolVersion, "wc", Generation{5}, "w0", 0}, HelloResult::unknown_worker},
      {"index", {kProtocolVersion, "wc", Generation{5}, "w1", 7}, HelloResult::unknown_worker},
      {"version", {kProtocolVersion + 1, "wc", Generation{5}, "w1", 1}, HelloResult::bad_version},
  };
  uint64_t refused_before = a->stats().refused;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    RawPeer raw(a->port());
    std::string bytes;
    encode_hello(bytes, c.hello);
    // Data right behind the hello, as a peer that does not wait for the reply would send it.
    Message m = batch(0, 3);
    encode_message(bytes, c.hello.generation, 0, m);
    raw.send(bytes);
    auto f = raw.next_frame();
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    const auto& reply = std::get<HelloReply>(*f);
    EXPECT_EQ(reply.result, c.expect) << reply.reason;
    EXPECT_EQ(reply.generation, Generation{5});
    EXPECT_EQ(reply.worker_id, "w0");
    // Then the connection is closed.
    EXPECT_FALSE(raw.next_frame().ok());
  }
  EXPECT_EQ(a->stats().refused, refused_before + cases.size());
  // Garbage instead of a hello: dropped and counted.
  {
    RawPeer raw(a->port());
    raw.send(std::string("GET / HTTP/1.1\r\n\r\n"));
    EXPECT_FALSE(raw.next_frame().ok());
  }
  EXPECT_EQ(a->stats().refused, refused_before + cases.size() + 1);
  EXPECT_EQ(a->stats().tuples_received, 0u);
  EXPECT_EQ(inbox.queued(), 0u);
  // The right hello is accepted, and a frame of another generation on it is refused too.
  RawPeer raw(a->port());
  std::string bytes;
  encode_hello(bytes, Hello{kProtocolVersion, "wc", Generation{5}, "w1", 1});
  raw.send(bytes);
  auto f = raw.next_frame();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(std::get<HelloReply>(*f).result, HelloResult::ok);
  bytes.clear();
  encode_message(bytes, Generation{4}, 0, batch(0, 3));
  raw.send(bytes);
  EXPECT_TRUE(test::wait_until(
      [&] { return a->stats().refused == refused_before + cases.size() + 2; }, 2000ms));
  EXPECT_EQ(inbox.queued(), 0u);
}

TEST(Transport, BadOptionsAndPeerListsAreRefused) {
  TransportOptions bad_host = options("w0");
  bad_host.listen_host = "localhost";
  EXPECT_EQ(Transport::start(bad_host).status().code(), Code::invalid_argument);
  TransportOptions no_credit = options("w0", 0);
  EXPECT_EQ(Transport::start(no_credit).status().code(), Code::invalid_argument);
  TransportOptions beats = options("w0");
  beats.heartbeat_timeout = beats.heartbeat;
  EXPECT_EQ(Transport::start(beats).status().code(), Code::invalid_argument);
  auto a = start(options("w0"));
  TransportOptions same_port = options("w1");
  same_port.listen_port = a->port();
  auto clash = Transport::start(same_port);
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.status().code(), Code::unavailable);
  EXPECT_NE(clash.status().message().find(std::to_string(a->port())), std::string::npos);
  struct Case {
    const char* what;
    int self;
    std::vector<Peer> peers;
  };
  const std::vector<Case> cases = {
      {"self out of range", 2, {{0, "w0", "127.0.0.1", 1}, {1, "w1", "127.0.0.1", 2}}},
      {"indexes out of order", 0, {{0, "w0", "127.0.0.1", 1}, {2, "w1", "127.0.0.1", 2}}},
      {"host not numeric", 0, {{0, "w0", "127.0.0.1", 1}, {1, "w1", "worker-1", 2}}},
      {"self is another worker", 1, {{0, "w0", "127.0.0.1", 1}, {1, "w1", "127.0.0.1", 2}}},
  };
  for (const Case& c : cases) {
    Status st = a->begin_generation(Generation{1}, c.self, c.peers);
    EXPECT_EQ(st.code(), Code::invalid_argument) << c.what << ": " << st.to_string();
  }
  // No generation: nothing to await, no channels.
  EXPECT_FALSE(a->await_mesh(in(1ms)).ok());
  EXPECT_FALSE(a->sender(0, PlannedChannel{}, 1).ok());
}

TEST(Transport, APeerSendingWithoutCreditIsAProtocolViolation) {
  Inbox inbox(1, 2);
  auto a = start(options("w0", 2));
  std::promise<Status> failed;
  std::atomic<int> calls{0};
  a->on_failure([&](const Status& s) {
    if (calls++ == 0) failed.set_value(s);
  });
  std::vector<Peer> peers = {{0, "w0", "127.0.0.1", a->port()}, {1, "w1", "127.0.0.1", 1}};
  ASSERT_TRUE(a->begin_generation(Generation{5}, 0, peers).ok());
  ASSERT_TRUE(a->receiver(0, PlannedChannel{0, 1, 0, 0}, 1, inbox, &kFields).ok());
  RawPeer raw(a->port());
  std::string bytes;
  encode_hello(bytes, Hello{kProtocolVersion, "wc", Generation{5}, "w1", 1});
  for (int i = 0; i < 3; ++i) encode_message(bytes, Generation{5}, 0, batch(i, 1));
  raw.send(bytes);
  auto fut = failed.get_future();
  ASSERT_EQ(fut.wait_for(3s), std::future_status::ready);
  Status s = fut.get();
  EXPECT_EQ(s.code(), Code::corruption);
  EXPECT_NE(s.message().find("credit protocol violation"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("worker w1"), std::string::npos) << s.message();
  // The two it had credit for were delivered; the io thread never blocked on the full inbox.
  EXPECT_EQ(inbox.queued(), 2u);
}

TEST(Transport, SenderParksWithoutCreditAndResumesWhenTheReceiverPops) {
  Inbox inbox(1, 2);
  Pair p(2);
  ASSERT_TRUE(p.b->receiver(3, PlannedChannel{0, 0, 1, 0}, 0, inbox, &kFields).ok());
  auto s = p.a->sender(3, PlannedChannel{0, 0, 1, 0}, 1);
  ASSERT_TRUE(s.ok());
  std::atomic<int> sent{0};
  std::thread producer([&] {
    for (int i = 0; i < 3; ++i) {
      if (!(*s)->send(batch(i * 10, 10), nullptr)) return;
      ++sent;
    }
  });
  ASSERT_TRUE(test::wait_until([&] { return inbox.queued() == 2; }, 2000ms));
  // Two credits: the third send is parked, and stays parked while nothing is popped.
  EXPECT_FALSE(test::wait_until([&] { return sent.load() == 3; }, 100ms, 5ms));
  EXPECT_EQ(sent.load(), 2);
  EXPECT_EQ(inbox.queued(), 2u);
  size_t input = 9;
  Message m;
  ASSERT_EQ(inbox.pop(input, m), Inbox::PopResult::message);
  EXPECT_EQ(input, 0u);
  ASSERT_EQ(m.tuples.size(), 10u);
  EXPECT_EQ(m.tuples[0].get_int("count"), 0);
  EXPECT_EQ(m.tuples[0].fields(), &kFields);
  EXPECT_TRUE(test::wait_until([&] { return sent.load() == 3; }, 2000ms, 1ms));
  producer.join();
  EXPECT_TRUE(test::wait_until([&] { return inbox.queued() == 2; }, 2000ms, 1ms));
  EXPECT_TRUE(p.failures_of(0).empty());
  EXPECT_TRUE(p.failures_of(1).empty());
}

TEST(Transport, DataBarriersAndEndKeepTheirOrderAcrossManyBatches) {
  constexpr int kChannels = 2, kBatches = 600;
  Inbox inbox(kChannels, 4);
  Pair p(4);
  std::vector<std::unique_ptr<ChannelSender>> senders;
  for (int c = 0; c < kChannels; ++c) {
    ASSERT_TRUE(
        p.b->receiver(10 + c, PlannedChannel{0, 0, 1, static_cast<size_t>(c)}, 0, inbox, &kFields)
            .ok());
    auto s = p.a->sender(10 + c, PlannedChannel{0, 0, 1, static_cast<size_t>(c)}, 1);
    ASSERT_TRUE(s.ok());
    senders.push_back(std::move(s).value());
  }
  // Each channel: batches of 1..37 tuples numbered consecutively, a barrier every 50 batches,
  // then end; sent from fibers of two threads. Channel 1's tuples carry event time (3 * number:
  // data_ts frames) and a watermark (3 * the next number) follows every 10th batch.
  std::vector<std::thread> producers;
  for (int c = 0; c < kChannels; ++c)
    producers.emplace_back([&, c] {
      boost::fibers::fiber f([&] {
        int next = 0;
        std::vector<Tuple> spare;
        for (int b = 0; b < kBatches; ++b) {
          Message m = batch(next, 1 + (b * 7 + c) % 37);
          if (c == 1)
            for (Tuple& t : m.tuples) t.set_timestamp(3 * t.get_int("count"));
          next += static_cast<int>(m.tuples.size());
          ASSERT_TRUE(senders[c]->send(std::move(m), &spare));
          if (c == 1 && b % 10 == 9) {
            Message w;
            w.kind = Message::Kind::watermark;
            w.watermark = 3 * next;
            ASSERT_TRUE(senders[c]->send(std::move(w), nullptr));
          }
          if (b % 50 == 49) {
            ASSERT_TRUE(senders[c]->send(barrier(b / 50 + 1), nullptr));
          }
        }
        ASSERT_TRUE(senders[c]->send(end_of_stream(), nullptr));
      });
      f.join();
    });
  std::vector<int> next(kChannels, 0), barriers(kChannels, 0), ended(kChannels, 0);
  int watermarks = 0;
  int open = kChannels;
  while (open > 0) {
    size_t input = 0;
    Message m;
    ASSERT_EQ(inbox.pop(input, m), Inbox::PopResult::message);
    ASSERT_LT(input, size_t{kChannels});
    ASSERT_FALSE(ended[input]) << "a message after end on channel " << input;
    switch (m.kind) {
      case Message::Kind::data:
        for (const Tuple& t : m.tuples) {
          ASSERT_EQ(t.get_int("count"), next[input]);
          ASSERT_EQ(t.get_string("word"), "w" + std::to_string(next[input]));
          ASSERT_EQ(t.timestamp(), input == 1 ? 3 * next[input] : kNoTimestamp);
          ++next[input];
        }
        break;
      case Message::Kind::barrier:
        ASSERT_EQ(m.barrier, CheckpointId{barriers[input] + 1});
        ++barriers[input];
        break;
      case Message::Kind::watermark:
        ASSERT_EQ(input, 1u);
        ASSERT_EQ(m.watermark, 3 * next[input]) << "a watermark overtook or lagged its data";
        ++watermarks;
        break;
      case Message::Kind::end:
        ended[input] = 1;
        --open;
        break;
    }
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(watermarks, kBatches / 10);
  for (int c = 0; c < kChannels; ++c) {
    EXPECT_EQ(barriers[c], kBatches / 50);
    EXPECT_EQ(next[c], [&] {
      int n = 0;
      for (int b = 0; b < kBatches; ++b) n += 1 + (b * 7 + c) % 37;
      return n;
    }());
  }
  EXPECT_EQ(p.a->stats().tuples_sent, p.b->stats().tuples_received);
  EXPECT_TRUE(p.failures_of(0).empty());
  EXPECT_TRUE(p.failures_of(1).empty());
}

TEST(Transport, DataWaitsForTheFlushTimerButBarriersAndTheLastCreditGoAtOnce) {
  // A flush interval far beyond the test's waits: whatever arrives was written without it.
  Inbox inbox(2, 4);
  Pair p(4, [](TransportOptions& o) {
    o.flush = 60s;
    o.heartbeat = 30s;  // a heartbeat writes whatever is buffered, too
    o.heartbeat_timeout = 60s;
  });
  for (size_t c = 0; c < 2; ++c)
    ASSERT_TRUE(p.b->receiver(c, PlannedChannel{0, 0, 1, c}, 0, inbox, &kFields).ok());
  auto s0 = p.a->sender(0, PlannedChannel{0, 0, 1, 0}, 1);
  auto s1 = p.a->sender(1, PlannedChannel{0, 0, 1, 1}, 1);
  ASSERT_TRUE(s0.ok() && s1.ok());
  // A barrier first, popped: the io thread is past the handshake's own flush of the buffer.
  ASSERT_TRUE((*s0)->send(barrier(2), nullptr));
  size_t input = 9;
  Message m;
  ASSERT_EQ(inbox.pop(input, m), Inbox::PopResult::message);
  ASSERT_TRUE((*s0)->send(batch(0, 5), nullptr));
  // A small batch with credit left waits in the buffer (for the timer, or a later write).
  EXPECT_FALSE(test::wait_until([&] { return inbox.queued() > 0; }, 100ms, 5ms));
  // A barrier is written at once, with the batch before it, in order.
  ASSERT_TRUE((*s0)->send(barrier(3), nullptr));
  ASSERT_TRUE(test::wait_until([&] { return inbox.queued() == 2; }, 2000ms, 1ms));
  ASSERT_EQ(inbox.pop(input, m), Inbox::PopResult::message);
  EXPECT_EQ(m.kind, Message::Kind::data);
  ASSERT_EQ(inbox.pop(input, m), Inbox::PopResult::message);
  EXPECT_EQ(m.kind, Message::Kind::barrier);
  // Spending a channel's last credit writes at once: nothing else can follow on it until the
  // receiver has it.
  for (int i = 0; i < 4; ++i) ASSERT_TRUE((*s1)->send(batch(i, 1), nullptr));
  ASSERT_TRUE(test::wait_until([&] { return inbox.queued() == 4; }, 2000ms, 1ms));
}

TEST(Transport, EndGenerationWakesAParkedSender) {
  Inbox inbox(1, 1);
  Pair p(1);
  ASSERT_TRUE(p.b->receiver(0, PlannedChannel{0, 0, 1, 0}, 0, inbox, &kFields).ok());
  auto s = p.a->sender(0, PlannedChannel{0, 0, 1, 0}, 1);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->send(batch(0, 1), nullptr));
  std::promise<bool> result;
  std::thread parked([&] { result.set_value((*s)->send(batch(1, 1), nullptr)); });
  ASSERT_TRUE(test::wait_until([&] { return inbox.queued() == 1; }, 2000ms));
  auto fut = result.get_future();
  EXPECT_EQ(fut.wait_for(50ms), std::future_status::timeout);  // parked: no credit
  p.a->end_generation();
  ASSERT_EQ(fut.wait_for(2s), std::future_status::ready);
  EXPECT_FALSE(fut.get());
  parked.join();
  // And every later send fails at once.
  EXPECT_FALSE((*s)->send(batch(2, 1), nullptr));
  // The peer sees the connection go: a failure of its generation.
  EXPECT_TRUE(test::wait_until([&] { return !p.failures_of(1).empty(); }, 2000ms));
  // w0 ended the generation itself: no failure reported there.
  EXPECT_TRUE(p.failures_of(0).empty());
}

TEST(Transport, AKilledPeerIsAFailureNamingIt) {
  Pair p(2);
  auto s = p.a->sender(0, PlannedChannel{0, 0, 1, 0}, 1);
  ASSERT_TRUE(s.ok());
  p.b.reset();  // its sockets close
  ASSERT_TRUE(test::wait_until([&] { return !p.failures_of(0).empty(); }, 2000ms));
  auto f = p.failures_of(0);
  EXPECT_EQ(f.size(), 1u);  // once per generation, though both connections broke
  EXPECT_EQ(f[0].code(), Code::unavailable);
  EXPECT_NE(f[0].message().find("worker w1"), std::string::npos) << f[0].message();
  // Sends on the lost link fail instead of parking.
  EXPECT_TRUE(test::wait_until([&] { return !(*s)->send(batch(0, 1), nullptr); }, 2000ms));
}

TEST(Transport, ASilentPeerMissesItsHeartbeats) {
  // w1 is a raw socket that handshakes and then says nothing; w0's connection to "w1" goes to a
  // listener that never answers.
  asio::io_context io;
  tcp::acceptor silent(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto a = start(options("w0"));
  std::promise<Status> failed;
  std::atomic<int> calls{0};
  a->on_failure([&](const Status& s) {
    if (calls++ == 0) failed.set_value(s);
  });
  std::vector<Peer> peers = {{0, "w0", "127.0.0.1", a->port()},
                             {1, "w1", "127.0.0.1", silent.local_endpoint().port()}};
  ASSERT_TRUE(a->begin_generation(Generation{5}, 0, peers).ok());
  RawPeer raw(a->port());
  std::string bytes;
  encode_hello(bytes, Hello{kProtocolVersion, "wc", Generation{5}, "w1", 1});
  raw.send(bytes);
  ASSERT_TRUE(raw.next_frame().ok());
  auto fut = failed.get_future();
  ASSERT_EQ(fut.wait_for(3s), std::future_status::ready);
  Status s = fut.get();
  EXPECT_EQ(s.code(), Code::unavailable);
  EXPECT_NE(s.message().find("nothing heard from worker w1"), std::string::npos) << s.message();
  // It kept sending heartbeats to the silent peer meanwhile.
  auto f = raw.next_frame();
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_TRUE(std::holds_alternative<HeartbeatFrame>(*f));
  EXPECT_EQ(calls.load(), 1);
}

TEST(Transport, ControlMessagesTravelBothWays) {
  Pair p;
  std::mutex mu;
  std::vector<std::pair<int, ControlMessage>> at_a, at_b;
  p.a->on_control([&](int from, ControlMessage&& m) {
    std::lock_guard lk(mu);
    at_a.emplace_back(from, std::move(m));
  });
  p.b->on_control([&](int from, ControlMessage&& m) {
    std::lock_guard lk(mu);
    at_b.emplace_back(from, std::move(m));
  });
  // Handlers are read at begin_generation: start a new one.
  auto peers = peers_of({p.a.get(), p.b.get()});
  ASSERT_TRUE(p.a->begin_generation(Generation{6}, 0, peers).ok());
  ASSERT_TRUE(p.b->begin_generation(Generation{6}, 1, peers).ok());
  ASSERT_TRUE(p.a->await_mesh(in(5s)).ok());
  ASSERT_TRUE(p.b->await_mesh(in(5s)).ok());
  ControlMessage trigger;
  trigger.kind = ControlMessage::Kind::trigger;
  trigger.id = CheckpointId{8};
  p.a->send_control(1, trigger);
  ControlMessage ack;
  ack.kind = ControlMessage::Kind::ack;
  ack.id = CheckpointId{8};
  ack.snapshot.component = "count";
  ack.snapshot.task = TaskIndex{1};
  ack.snapshot.id = CheckpointId{8};
  ack.snapshot.stateful = true;
  ack.snapshot.handle = {BlobHandle::Kind::file, "8/g6/count-1.snap", 99, 0x1234};
  ack.snapshot.positions = {{"words", PartitionId{2}, Offset{100}, ""}};
  ack.snapshot.source = true;
  p.b->send_control(0, ack);
  ControlMessage to_self;
  to_self.kind = ControlMessage::Kind::visible;
  to_self.id = CheckpointId{7};
  p.a->send_control(0, to_self);
  ASSERT_TRUE(test::wait_until(
      [&] {
        std::lock_guard lk(mu);
        return at_a.size() == 2 && at_b.size() == 1;
      },
      2000ms, 1ms));
  std::lock_guard lk(mu);
  EXPECT_EQ(at_b[0].first, 0);
  EXPECT_EQ(at_b[0].second.kind, ControlMessage::Kind::trigger);
  EXPECT_EQ(at_b[0].second.id, CheckpointId{8});
  const ControlMessage* got_ack = nullptr;
  for (auto& [from, m] : at_a) {
    if (m.kind == ControlMessage::Kind::ack) {
      EXPECT_EQ(from, 1);
      got_ack = &m;
    } else {
      EXPECT_EQ(from, 0);
      EXPECT_EQ(m.kind, ControlMessage::Kind::visible);
    }
  }
  ASSERT_NE(got_ack, nullptr);
  EXPECT_EQ(got_ack->snapshot.handle, ack.snapshot.handle);
  EXPECT_EQ(got_ack->snapshot.positions, ack.snapshot.positions);
  EXPECT_EQ(got_ack->snapshot.component, "count");
  EXPECT_TRUE(got_ack->snapshot.source);
}

TEST(Transport, ThreeWorkersMeshAndEveryPairCarriesDataAndControl) {
  // Worker i sends one batch to each other worker j on channel 10 * i + j, and a control message.
  constexpr int kWorkers = 3;
  std::vector<std::unique_ptr<Inbox>> inboxes;
  for (int j = 0; j < kWorkers; ++j) inboxes.push_back(std::make_unique<Inbox>(kWorkers, 4));
  std::mutex mu;
  std::map<int, std::set<int>> control_from;  // at worker j: from whom
  std::vector<std::unique_ptr<Transport>> ts;
  for (int i = 0; i < kWorkers; ++i) {
    ts.push_back(start(options("w" + std::to_string(i))));
    ts.back()->on_control([&, i](int from, ControlMessage&& m) {
      std::lock_guard lk(mu);
      EXPECT_EQ(m.id, CheckpointId{from});
      control_from[i].insert(from);
    });
  }
  std::vector<Transport*> raw;
  for (auto& t : ts) raw.push_back(t.get());
  auto peers = peers_of(raw);
  for (int i = kWorkers - 1; i >= 0; --i)
    ASSERT_TRUE(ts[i]->begin_generation(Generation{3}, i, peers).ok());
  for (auto& t : ts) {
    Status st = t->await_mesh(in(5s));
    ASSERT_TRUE(st.ok()) << st.to_string();
  }
  std::vector<std::unique_ptr<ChannelSender>> senders;
  for (int i = 0; i < kWorkers; ++i)
    for (int j = 0; j < kWorkers; ++j) {
      if (i == j) continue;
      PlannedChannel ch{0, static_cast<size_t>(i), static_cast<size_t>(j), static_cast<size_t>(i)};
      ASSERT_TRUE(ts[j]->receiver(10 * i + j, ch, i, *inboxes[j], &kFields).ok());
      auto s = ts[i]->sender(10 * i + j, ch, j);
      ASSERT_TRUE(s.ok());
      ASSERT_TRUE((*s)->send(batch(100 * i + j, 3), nullptr));
      ASSERT_TRUE((*s)->send(end_of_stream(), nullptr));
      senders.push_back(std::move(s).value());
      ControlMessage m;
      m.kind = ControlMessage::Kind::visible;
      m.id = CheckpointId{i};
      ts[i]->send_control(j, m);
    }
  for (int j = 0; j < kWorkers; ++j) {
    std::set<size_t> seen;
    while (seen.size() < kWorkers - 1) {
      size_t input = 0;
      Message m;
      ASSERT_EQ(inboxes[j]->pop(input, m), Inbox::PopResult::message);
      if (m.kind == Message::Kind::end) {
        seen.insert(input);
        continue;
      }
      ASSERT_EQ(m.tuples.size(), 3u);
      EXPECT_EQ(m.tuples[0].get_int("count"), static_cast<int64_t>(100 * input + j));
    }
  }
  ASSERT_TRUE(test::wait_until(
      [&] {
        std::lock_guard lk(mu);
        for (int j = 0; j < kWorkers; ++j)
          if (control_from[j].size() != kWorkers - 1) return false;
        return true;
      },
      2000ms, 1ms));
  // (Refusals may be counted: a worker that began generation 3 first met "no generation" at the
  // others, and retried.)
  for (auto& t : ts) EXPECT_EQ(t->stats().tuples_received, 2u * 3u);
}

TEST(Transport, DataSentBeforeTheReceiverIsRegisteredIsKeptInOrder) {
  Inbox inbox(2, 3);
  Pair p(3);
  // A control message behind the data on the same connection marks when w1 has read it all.
  std::atomic<bool> marker{false};
  p.b->on_control([&](int, ControlMessage&&) { marker = true; });
  auto peers = peers_of({p.a.get(), p.b.get()});
  ASSERT_TRUE(p.a->begin_generation(Generation{6}, 0, peers).ok());
  ASSERT_TRUE(p.b->begin_generation(Generation{6}, 1, peers).ok());
  ASSERT_TRUE(p.a->await_mesh(in(5s)).ok());
  auto s = p.a->sender(4, PlannedChannel{0, 0, 1, 1}, 1);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->send(batch(0, 2), nullptr));
  ASSERT_TRUE((*s)->send(barrier(1), nullptr));
  ASSERT_TRUE((*s)->send(batch(2, 2), nullptr));
  p.a->send_control(1, ControlMessage{});
  ASSERT_TRUE(test::wait_until([&] { return marker.load(); }, 2000ms, 1ms));
  ASSERT_TRUE(p.b->receiver(4, PlannedChannel{0, 0, 1, 1}, 0, inbox, &kFields).ok());
  EXPECT_EQ(inbox.queued(), 3u);
  size_t input = 0;
  Message m;
  ASSERT_EQ(inbox.pop(input, m), Inbox::PopResult::message);
  EXPECT_EQ(input, 1u);
  EXPECT_EQ(m.tuples.at(1).get_int("count"), 1);
  EXPECT_EQ(m.tuples.at(1).fields(), &kFields);
  ASSERT_EQ(inbox.pop(input, m), Inbox::PopResult::message);
  EXPECT_EQ(m.kind, Message::Kind::barrier);
  // Credits came back for the pops: the sender is not stuck.
  ASSERT_TRUE((*s)->send(batch(4, 1), nullptr));
  ASSERT_TRUE((*s)->send(batch(5, 1), nullptr));
  ASSERT_EQ(inbox.pop(input, m), Inbox::PopResult::message);
  EXPECT_EQ(m.tuples.at(0).get_int("count"), 2);
}

TEST(Transport, ThroughputSmoke) {
  // No timing assertion: prints tuples/s over one connection for bench/RESULTS.md.
  Inbox inbox(1, 16);
  Pair p(16);
  ASSERT_TRUE(p.b->receiver(0, PlannedChannel{0, 0, 1, 0}, 0, inbox, &kFields).ok());
  auto s = p.a->sender(0, PlannedChannel{0, 0, 1, 0}, 1);
  ASSERT_TRUE(s.ok());
  constexpr int kBatches = 1000, kBatch = 512;
  const char* words[] = {"stream", "kafkas", "sleety", "tuples", "bolted", "barrie"};
  auto t0 = std::chrono::steady_clock::now();
  std::thread producer([&] {
    std::vector<Tuple> spare;
    for (int b = 0; b < kBatches; ++b) {
      Message m;
      m.tuples = std::move(spare);
      m.tuples.clear();
      for (int i = 0; i < kBatch; ++i)
        m.tuples.emplace_back(
            &kFields, Values{Value(std::string(words[i % 6])), Value(int64_t{b * kBatch + i})});
      ASSERT_TRUE((*s)->send(std::move(m), &spare));
    }
    ASSERT_TRUE((*s)->send(end_of_stream(), nullptr));
  });
  int64_t tuples = 0;
  Message m;  // reused, as a task does: pop() recycles its batch vector
  while (true) {
    size_t input = 0;
    ASSERT_EQ(inbox.pop(input, m), Inbox::PopResult::message);
    if (m.kind == Message::Kind::end) break;
    tuples += static_cast<int64_t>(m.tuples.size());
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  producer.join();
  EXPECT_EQ(tuples, int64_t{kBatches} * kBatch);
  auto st = p.a->stats();
  double bpt = static_cast<double>(st.bytes_sent) / static_cast<double>(tuples);
  RecordProperty("tuples_per_second", std::to_string(static_cast<int64_t>(tuples / secs)));
  RecordProperty("wire_bytes_per_tuple", std::to_string(bpt));
  std::printf("transport throughput: %.2f M tuples/s over one connection, %.2f bytes/tuple\n",
              tuples / secs / 1e6, bpt);
}

}  // namespace
}  // namespace sleet::cluster
