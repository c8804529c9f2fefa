// End to end: `sleet kafka` as a process, used by kcat (a Kafka client that is not ours), and by a
// `sleet worker` process running a topology between two of its topics.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <sstream>

#include "tests/support/support.hpp"
#include "tests/support/zk_fixture.hpp"

using namespace sleet::test;
using namespace std::chrono_literals;

namespace {

// Starts `sleet kafka ARGS...` and returns its bootstrap address (first stdout line).
std::string start_cli(Child& child, const TempDir& dir, std::vector<std::string> args) {
  std::vector<std::string> argv = {SLEET_CLI_PATH, "kafka"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto out = (dir.path() / "stdout").string();
  child = Child::spawn(argv, {}, out, (dir.path() / "stderr").string());
  std::string boot;
  bool ok = wait_until(
      [&] {
        std::string s = read_file(out);
        auto nl = s.find('\n');
        if (nl == std::string::npos) return false;
        boot = s.substr(0, nl);
        return true;
      },
      20s);
  if (!ok) ADD_FAILURE() << "no bootstrap line; stderr: " << read_file(dir.path() / "stderr");
  return boot;
}

TEST(KafkaCli, KcatRoundTripAndCleanStop) {
  TempDir dir("sleet-kafka-cli");
  Child child;
  std::string boot = start_cli(child, dir, {"--topic", "words:3", "--topic", "other:1"});
  ASSERT_FALSE(boot.empty());
  EXPECT_EQ(boot.rfind("127.0.0.1:", 0), 0u) << "binds loopback only: " << boot;

  auto meta = run_command({"kcat", "-L", "-b", boot, "-t", "words"}, 20s);
  ASSERT_EQ(meta.status, 0) << meta.err;
  EXPECT_NE(meta.out.find("topic \"words\" with 3 partitions"), std::string::npos) << meta.out;

  std::vector<std::string> sent;
  std::string input;
  for (int i = 0; i < 200; ++i) {
    sent.push_back("the quick brown fox " + std::to_string(i));
    input += sent.back() + "\n";
  }
  auto prod = run_command({"kcat", "-P", "-b", boot, "-t", "words"}, 30s, {}, input);
  ASSERT_EQ(prod.status, 0) << prod.err;
  auto cons = run_command(
      {"kcat", "-C", "-b", boot, "-t", "words", "-e", "-q", "-o", "beginning", "-f", "%s\\n"}, 30s);
  ASSERT_EQ(cons.status, 0) << cons.err;
  auto got = split_lines(cons.out);
  std::sort(got.begin(), got.end());
  std::sort(sent.begin(), sent.end());
  EXPECT_EQ(got, sent);

  child.signal(SIGTERM);
  auto st = child.wait(20s);
  ASSERT_TRUE(st.has_value()) << "sleet kafka did not stop on SIGTERM";
  EXPECT_EQ(*st, 0) << read_file(dir.path() / "stderr");
}

TEST(KafkaCli, StopsOnSigintToo) {
  TempDir dir("sleet-kafka-cli");
  Child child;
  std::string boot = start_cli(child, dir, {"--brokers", "3"});
  ASSERT_FALSE(boot.empty());
  EXPECT_EQ(std::count(boot.begin(), boot.end(), ','), 2) << "three brokers: " << boot;
  child.signal(SIGINT);
  auto st = child.wait(20s);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(*st, 0);
}

TEST(KafkaCli, MalformedTopicIsAUsageError) {
  for (const char* bad : {"words", "words:", ":3", "words:0", "words:x", "wo rds:2"}) {
    auto r = run_command({SLEET_CLI_PATH, "kafka", "--topic", bad}, 20s);
    EXPECT_EQ(r.status, 2) << bad;
    EXPECT_NE(r.err.find("NAME:PARTITIONS"), std::string::npos) << bad << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << "no bootstrap line for a usage error";
  }
}

// The whole path through processes that share nothing but sockets: kcat produces into `sleet
// kafka`, a `sleet worker` (KafkaSpout -> SplitSentence -> WordCount -> KafkaSink, checkpoints in a
// real ZooKeeper) runs until drained, kcat reads the result back. WordCount emits (word, count)
// after every update, so exactly-once output holds counts 1..c(w) once each for every input word w.
TEST(KafkaCli, WorkerBetweenTwoTopicsCountsEachRecordOnce) {
  TempDir dir("sleet-kafka-cli");
  Child kafka;
  std::string boot = start_cli(kafka, dir, {"--topic", "in:2", "--topic", "out:2"});
  ASSERT_FALSE(boot.empty());
  ZkServer zk;

  // Half the lines into each partition of `in`, so both spout tasks have work.
  std::vector<std::string> input;
  std::string text[2];
  for (int i = 0; i < 400; ++i) {
    input.push_back("w" + std::to_string(i % 7) + " x" + std::to_string(i % 13) + " y" +
                    std::to_string(i));
    text[i % 2] += input.back() + "\n";
  }
  for (int p = 0; p < 2; ++p) {
    auto prod = run_command({"kcat", "-P", "-b", boot, "-t", "in", "-p", std::to_string(p), "-X",
                             "broker.address.family=v4"},
                            30s, {}, text[p]);
    ASSERT_EQ(prod.status, 0) << prod.err;
  }

  auto topology = dir.path() / "topology.yaml";
  write_file(topology,
             "name: kafka_cli_e2e\n"
             "config:\n"
             "  checkpoint.interval.ms: 200\n"
             "  kafka.bootstrap.servers: " +
                 boot +
                 "\n"
                 "  zookeeper.connect: " +
                 zk.connect_string() +
                 "\n"
                 "  checkpoint.dir: " +
                 (dir.path() / "checkpoints").string() +
                 "\n"
                 "plugins: [" SLEET_BINARY_DIR
                 "/plugins/libsleet_wordcount.so]\n"
                 "spouts:\n"
                 "  - {id: in, class: KafkaSpout, parallelism: 2, args: {topic: in}}\n"
                 "bolts:\n"
                 "  - {id: split, class: SplitSentence, parallelism: 2}\n"
                 "  - {id: count, class: WordCount, parallelism: 2}\n"
                 "  - {id: out, class: KafkaSink, parallelism: 2, args: {topic: out, "
                 "key.field: word}}\n"
                 "streams:\n"
                 "  - {from: in, to: split, grouping: shuffle}\n"
                 "  - {from: split, to: count, grouping: {type: fields, fields: [word]}}\n"
                 "  - {from: count, to: out, grouping: shuffle}\n");
  auto worker = run_command({SLEET_CLI_PATH, "worker", topology.string(), "--until-drained"}, 120s);
  ASSERT_EQ(worker.status, 0) << worker.err;

  auto cons = run_command({"kcat", "-C", "-b", boot, "-t", "out", "-e", "-q", "-o", "beginning",
                           "-f", "%s\\n", "-X", "broker.address.family=v4"},
                          30s);
  ASSERT_EQ(cons.status, 0) << cons.err;
  auto got = split_lines(cons.out);
  auto want = word_counts(input);
  int64_t total = 0;
  for (auto& [w, c] : want) total += c;
  EXPECT_EQ(static_cast<int64_t>(got.size()), total);
  EXPECT_EQ(running_count_mismatches(got, want), "");

  kafka.signal(SIGTERM);
  auto st = kafka.wait(20s);
  ASSERT_TRUE(st.has_value()) << "sleet kafka did not stop on SIGTERM";
  EXPECT_EQ(*st, 0) << read_file(dir.path() / "stderr");
}

}  // namespace
