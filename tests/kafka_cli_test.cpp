// End to end: `sleet kafka` as a process, used by kcat (a Kafka client that is not ours).
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <sstream>

#include "tests/support/support.hpp"

using namespace sleet::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

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
  auto got = lines(cons.out);
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

}  // namespace
