// The servers an end-to-end suite shares: a real ZooKeeper server and the mock Kafka cluster, both
// hosted in the test process (so they outlive the `sleet worker` processes the tests SIGKILL), in
// one temp dir removed with them. Start once per suite, from SetUpTestSuite:
//
//   struct Env : test::SuiteServers {};
//   static void SetUpTestSuite() { g_env = new Env; test::start_suite_servers(*g_env, "sleet-x"); }
//
// Threading: the test's main thread only.
#pragma once

#include <memory>
#include <string>

#include "cluster/zk_server.hpp"
#include "kafka/kafka.hpp"
#include "tests/support/support.hpp"

namespace sleet::test {

struct SuiteServers {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<EmbeddedZooKeeper> zk;      // data under dir/zk, on a free port
  std::unique_ptr<kafka::MockCluster> kafka;  // one broker
};

// Makes env.dir a fresh TempDir(prefix), then starts ZooKeeper and Kafka into env. A fatal gtest
// failure (naming what did not start and why) if either cannot start; whatever did start stays in
// env, and is stopped when env is destroyed.
void start_suite_servers(SuiteServers& env, const std::string& prefix);

}  // namespace sleet::test
