// The cluster transport alone (cluster/transport.hpp, cluster/frame_codec.hpp): the flat codec's
// cost per (word, count) tuple, and tuples/s over one loopback connection between two
// Transports of this process, sender and receiver on their own threads as engine tasks would
// be, with the default credits (16) and batch size (512). Prints; asserts nothing.
//
//   build/bench/transport_bench [batches (default 20000)]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "cluster/frame_codec.hpp"
#include "cluster/transport.hpp"
#include "runtime/inbox.hpp"

using namespace sleet;
using namespace sleet::cluster;
using namespace std::chrono_literals;

namespace {

const Fields kFields{"word", "count"};
const char* kWords[] = {"stream", "kafkas", "sleety", "tuples", "bolted", "barrie", "the", "of"};

void fill(std::vector<Tuple>& batch, int b, int n) {
  batch.clear();
  for (int i = 0; i < n; ++i)
    batch.emplace_back(&kFields,
                       Values{Value(std::string(kWords[(b + i) % 8])), Value(int64_t{b + i})});
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int batches = argc > 1 ? std::atoi(argv[1]) : 20000;
  constexpr int kBatch = 512;

  // Codec alone.
  {
    std::vector<Tuple> batch;
    fill(batch, 0, kBatch);
    std::string bytes;
    const int rounds = 2000;
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < rounds; ++r) {
      bytes.clear();
      encode_data(bytes, Generation{1}, 0, batch);
    }
    double enc = seconds_since(t0);
    FrameDecoder d;
    FieldsResolver resolve = [](uint32_t) { return &kFields; };
    Message m;
    t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < rounds; ++r) {
      d.feed(bytes);
      auto v = d.next();
      Generation g;
      uint32_t ch = 0;
      m.tuples.clear();
      if (!v.ok() || !*v || !decode_message(**v, &resolve, g, ch, m).ok()) return 1;
    }
    double dec = seconds_since(t0);
    std::printf("codec: %.2f bytes/tuple, encode %.1f ns/tuple, decode %.1f ns/tuple\n",
                static_cast<double>(bytes.size()) / kBatch, enc * 1e9 / rounds / kBatch,
                dec * 1e9 / rounds / kBatch);
  }

  // One connection.
  auto start = [](const char* id) {
    TransportOptions o;
    o.topology = "bench";
    o.self_id = id;
    auto t = Transport::start(o);
    if (!t.ok()) {
      std::fprintf(stderr, "%s\n", t.status().to_string().c_str());
      std::exit(1);
    }
    return std::move(t).value();
  };
  auto a = start("w0");
  auto b = start("w1");
  std::vector<Peer> peers = {{0, "w0", "127.0.0.1", a->port()}, {1, "w1", "127.0.0.1", b->port()}};
  if (!a->begin_generation(Generation{1}, 0, peers).ok() ||
      !b->begin_generation(Generation{1}, 1, peers).ok())
    return 1;
  auto until = std::chrono::steady_clock::now() + 5s;
  if (Status s = a->await_mesh(until); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.to_string().c_str());
    return 1;
  }
  if (!b->await_mesh(until).ok()) return 1;
  Inbox inbox(1, 16);
  PlannedChannel channel{0, 0, 1, 0};
  if (!b->receiver(0, channel, 0, inbox, &kFields).ok()) return 1;
  auto sender = a->sender(0, channel, 1);
  if (!sender.ok()) return 1;

  auto t0 = std::chrono::steady_clock::now();
  std::clock_t c0 = std::clock();
  std::thread producer([&] {
    std::vector<Tuple> spare;
    for (int i = 0; i < batches; ++i) {
      Message m;
      m.tuples = std::move(spare);
      fill(m.tuples, i * kBatch, kBatch);
      if (!(*sender)->send(std::move(m), &spare)) std::exit(1);
    }
    Message end;
    end.kind = Message::Kind::end;
    (void)(*sender)->send(std::move(end), nullptr);
  });
  int64_t tuples = 0;
  Message m;
  while (true) {
    size_t input = 0;
    if (inbox.pop(input, m) != Inbox::PopResult::message) return 1;
    if (m.kind == Message::Kind::end) break;
    tuples += static_cast<int64_t>(m.tuples.size());
  }
  double secs = seconds_since(t0);
  double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  producer.join();
  TransportStats st = a->stats();
  std::printf(
      "loopback: %lld tuples in %.2f s: %.2f M tuples/s over one connection, %.2f wire "
      "bytes/tuple, %.0f ns CPU/tuple (all threads), %llu frames\n",
      static_cast<long long>(tuples), secs, tuples / secs / 1e6,
      static_cast<double>(st.bytes_sent) / static_cast<double>(tuples), cpu * 1e9 / tuples,
      static_cast<unsigned long long>(st.frames_sent));
  return 0;
}
