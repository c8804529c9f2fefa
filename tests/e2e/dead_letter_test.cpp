// The dead_letter error policy: a tuple whose processing throws goes, with the error, as a JSON
// record to a Kafka topic (read back here with kcat), and the topology keeps going.
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "cluster/dead_letter_sink.hpp"
#include "cluster/zk_server.hpp"
#include "runtime/engine.hpp"
#include "tests/support/kafka_fixture.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::atomic<int64_t> g_passed{0};

class Picky : public Bolt {
 public:
  explicit Picky(const Args&) {}
  void execute(const Tuple& t, Collector&) override {
    if (t.get_int("n") % 100 == 7) throw std::runtime_error("no sevens please");
    g_passed.fetch_add(1);
  }
};

}  // namespace

TEST(DeadLetter, FailedTuplesGoToTheTopicAndProcessingContinues) {
  auto kafka = test::start_kafka({{"dlq", 1}});
  Registry reg;
  for (auto* d : Registry::global().list()) (void)reg.add(*d);
  (void)reg.add(describe<Picky>("Picky", ""));
  auto spec = TopologyBuilder("dl")
                  .config("kafka.bootstrap.servers", kafka->bootstrap())
                  .spout("s", "SequenceSpout", 1, {{"count", int64_t{1000}}})
                  .bolt("picky", "Picky", 2)
                  .on_error(ErrorPolicy::dead_letter, "dlq")
                  .stream("s", "picky")
                  .build();
  EngineOptions o;
  o.checkpointing = false;
  o.threads = 2;
  o.dead_letter_sink = kafka_dead_letter_sink;  // what the worker supplies
  auto e = Engine::create(spec, reg, o);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  ASSERT_TRUE((*e)->start().ok());
  ASSERT_TRUE(test::wait_until([&] { return (*e)->all_spouts_drained(); }, 20s));
  ASSERT_TRUE(test::wait_until([&] { return g_passed.load() == 990; }, 20s)) << g_passed.load();
  (*e)->request_stop();
  ASSERT_TRUE((*e)->wait().ok()) << (*e)->failure().to_string();
  int64_t skipped = 0;
  for (auto& s : (*e)->stats()) skipped += s.counters["skipped"];
  EXPECT_EQ(skipped, 10);

  // Not from Kafka: the value is the tuple's fields as JSON, the headers say where and why.
  auto r = test::run_command({"kcat", "-C", "-b", kafka->bootstrap(), "-t", "dlq", "-e", "-q", "-o",
                              "beginning", "-f", "%s|%h\\n"},
                             30s);
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream is(r.out);
  std::string line;
  std::set<std::string> numbers;
  while (std::getline(is, line)) {
    EXPECT_NE(line.find("sleet.dlq.component=picky"), std::string::npos) << line;
    EXPECT_NE(line.find("sleet.dlq.error=no sevens please"), std::string::npos) << line;
    auto p = line.find("{\"n\":");
    ASSERT_NE(p, std::string::npos) << line;
    numbers.insert(line.substr(p + 5, line.find(',', p) - p - 5));
  }
  EXPECT_EQ(numbers.size(), 10u) << r.out;
  EXPECT_TRUE(numbers.count("507")) << r.out;
}

namespace {

// kcat's "-f '%p\t%o\t%k\t%s\t%h\n'" lines: partition, offset, key, value, headers (k=v,k=v).
struct KcatRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key, value;
  std::map<std::string, std::string> headers;
};

std::vector<KcatRecord> read_with_kcat(const std::string& bootstrap, const std::string& topic) {
  auto r =
      test::run_command({"kcat", "-C", "-b", bootstrap, "-t", topic, "-e", "-q", "-o", "beginning",
                         "-f", "%p\\t%o\\t%k\\t%s\\t%h\\n", "-X", "broker.address.family=v4"},
                        60s);
  EXPECT_EQ(r.status, 0) << r.err;
  std::vector<KcatRecord> out;
  std::istringstream is(r.out);
  std::string line;
  while (std::getline(is, line)) {
    std::vector<std::string> f;
    std::istringstream ls(line);
    std::string x;
    while (std::getline(ls, x, '\t')) f.push_back(x);
    if (f.size() < 4) {
      ADD_FAILURE() << "malformed kcat line '" << line << "'";
      continue;
    }
    KcatRecord k;
    k.partition = std::stoi(f[0]);
    k.offset = std::stoll(f[1]);
    k.key = f[2];
    k.value = f[3];
    std::istringstream hs(f.size() > 4 ? f[4] : "");
    while (std::getline(hs, x, ',')) {
      auto eq = x.find('=');
      if (eq != std::string::npos) k.headers[x.substr(0, eq)] = x.substr(eq + 1);
    }
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace

// Dead letters are sink output: exactly once under SIGKILLs of a real `sleet worker` (restarted
// after each kill, input arriving meanwhile), each the original record (key, value bytes) with
// headers naming its topic, partition, offset, component, task and the error. Before dead letters
// went through the checkpoint they were produced at least once (duplicates after every kill) as a
// JSON debug string.
TEST(DeadLetter, ExactlyOnceWithTheOriginalRecordUnderSigkills) {
  test::TempDir dir("sleet-dlq");
  auto zk = EmbeddedZooKeeper::start(dir.path() / "zk", 0);
  ASSERT_TRUE(zk.ok()) << zk.status().to_string();
  auto kafka = test::start_kafka({{"dl_in", 3}, {"dl_out", 2}});
  const fs::path topo = dir.path() / "topology.yaml";
  {
    std::ofstream o(topo);
    o << "name: dlq_chaos\n"
      << "config:\n"
      << "  checkpoint.interval.ms: 200\n"
      << "  kafka.bootstrap.servers: " << kafka->bootstrap() << "\n"
      << "  zookeeper.connect: " << (*zk)->connect_string() << "\n"
      << "  checkpoint.dir: " << (dir.path() / "checkpoints").string() << "\n"
      << "plugins: [" << SLEET_BINARY_DIR << "/plugins/libsleet_test_faults.so]\n"
      << "spouts:\n"
      << "  - {id: in, class: KafkaSpout, parallelism: 2, args: {topic: dl_in}}\n"
      << "bolts:\n"
      << "  - {id: picky, class: FailOn, parallelism: 2, args: {marker: bad},\n"
      << "     on_error: dead_letter, dead_letter_topic: dl_out}\n"
      << "  - {id: chained, class: FailOn, parallelism: 2, args: {marker: bad},\n"
      << "     on_error: dead_letter, dead_letter_topic: dl_out}\n"
      << "streams:\n"
      // picky behind a channel; chained runs inside the spout's fibers (EngineOptions::chaining),
      // so its dead-letter sink is chained two deep.
      << "  - {from: in, to: picky, grouping: shuffle}\n"
      << "  - {from: in, to: chained, grouping: local_or_shuffle}\n";
  }
  const fs::path log = dir.path() / "worker.log";
  auto log_tail = [&] {
    std::string l = test::read_file(log);
    return l.size() > 4000 ? l.substr(l.size() - 4000) : l;
  };
  auto start_worker = [&](bool until_drained) {
    std::vector<std::string> argv = {SLEET_CLI_PATH, "worker", topo.string()};
    if (until_drained) argv.push_back("--until-drained");
    return test::Child::spawn(argv, {}, log.string(), log.string());
  };

  // Every fourth record fails; keys and values are distinct so each dead letter names its input.
  // Input keeps arriving while a worker runs, so kills land between dead letters going out and the
  // checkpoint that covers their input.
  const int total = getenv("SLEET_SOAK") ? 40000 : 6000;
  const int kills = getenv("SLEET_SOAK") ? 40 : 8;
  std::set<std::string> failing;
  int fed = 0;
  auto feed = [&](int n) {
    std::vector<test::ProduceRecord> batch;
    for (; n > 0 && fed < total; --n, ++fed) {
      test::ProduceRecord r;
      r.key = "k" + std::to_string(fed);
      r.value = "v" + std::to_string(fed) + (fed % 4 == 1 ? " bad\x01bytes" : " good");
      r.partition = fed % 3;
      if (fed % 4 == 1) failing.insert(r.value);
      batch.push_back(std::move(r));
    }
    if (!batch.empty()) test::produce(kafka->bootstrap(), "dl_in", batch);
  };
  std::mt19937_64 rng(2026);
  for (int k = 0; k < kills; ++k) {
    auto w = start_worker(false);
    auto until = std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(std::uniform_int_distribution<int>(400, 1500)(rng));
    while (std::chrono::steady_clock::now() < until && w.running()) {
      feed(total / kills / 40);
      std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(w.running()) << "worker died on its own; log:\n" << log_tail();
    w.signal(SIGKILL);
    ASSERT_EQ(w.wait(10s).value_or(-1), 128 + SIGKILL);
  }
  feed(total);
  auto w = start_worker(true);
  auto st = w.wait(90s);
  ASSERT_TRUE(st.has_value()) << "worker did not drain in time; log:\n" << log_tail();
  ASSERT_EQ(*st, 0) << log_tail();

  // Where each input record really is, read back independently.
  std::map<std::string, KcatRecord> input;
  for (auto& r : read_with_kcat(kafka->bootstrap(), "dl_in")) input[r.value] = r;
  ASSERT_EQ(input.size(), static_cast<size_t>(total));

  auto letters = read_with_kcat(kafka->bootstrap(), "dl_out");
  std::map<std::string, int> seen;  // "<component>|<value>" -> copies
  size_t bad = 0;
  for (auto& d : letters) {
    ++seen[(d.headers.count("sleet.dlq.component") ? d.headers.at("sleet.dlq.component") : "") +
           "|" + d.value];
    auto in = input.find(d.value);
    if (in == input.end() || !failing.count(d.value)) {
      if (bad++ < 5) ADD_FAILURE() << "dead letter that is no failing input: '" << d.value << "'";
      continue;
    }
    auto h = [&](const std::string& n) {
      auto it = d.headers.find(n);
      return it == d.headers.end() ? std::string("<none>") : it->second;
    };
    const std::vector<std::pair<std::string, std::string>> want = {
        {"sleet.dlq.topic", "dl_in"},
        {"sleet.dlq.partition", std::to_string(in->second.partition)},
        {"sleet.dlq.offset", std::to_string(in->second.offset)},
        {"sleet.dlq.error", "FailOn: refusing value '" + d.value + "'"}};
    bool ok = d.key == in->second.key &&
              (h("sleet.dlq.component") == "picky" || h("sleet.dlq.component") == "chained");
    for (auto& [n, v] : want) ok = ok && h(n) == v;
    ok = ok && (h("sleet.dlq.task") == "0" || h("sleet.dlq.task") == "1");
    if (!ok && bad++ < 5) {
      std::string hs;
      for (auto& [n, v] : d.headers) hs += n + "=" + v + " ";
      ADD_FAILURE() << "dead letter of '" << d.value << "' (key " << in->second.key << ", "
                    << in->second.partition << "@" << in->second.offset << "): key '" << d.key
                    << "', headers " << hs;
    }
  }
  size_t duplicated = 0, missing = 0;
  for (auto& v : failing)
    for (std::string c : {"picky|", "chained|"}) {
      if (seen[c + v] == 0) ++missing;
      if (seen[c + v] > 1) ++duplicated;
    }
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(missing, 0u) << "of " << failing.size() << " failing records, each in two components";
  EXPECT_EQ(duplicated, 0u) << "of " << failing.size() << " failing records; " << letters.size()
                            << " dead letters";
  EXPECT_EQ(letters.size(), 2 * failing.size());
}
