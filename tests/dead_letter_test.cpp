// The dead_letter error policy: a tuple whose processing throws goes, with the error, as a JSON
// record to a Kafka topic (read back here with kcat), and the topology keeps going.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "runtime/engine.hpp"
#include "tests/support/kafka_fixture.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;

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

  auto r = test::run_command({"kcat", "-C", "-b", kafka->bootstrap(), "-t", "dlq", "-e", "-q", "-o",
                              "beginning", "-f", "%s\\n"},
                             30s);
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream is(r.out);
  std::string line;
  std::set<std::string> numbers;
  while (std::getline(is, line)) {
    EXPECT_NE(line.find("\"component\":\"picky\""), std::string::npos) << line;
    EXPECT_NE(line.find("no sevens please"), std::string::npos) << line;
    auto p = line.find("n=");
    ASSERT_NE(p, std::string::npos) << line;
    numbers.insert(line.substr(p, line.find(' ', p) - p));
  }
  EXPECT_EQ(numbers.size(), 10u) << r.out;
  EXPECT_TRUE(numbers.count("n=507")) << r.out;
}
