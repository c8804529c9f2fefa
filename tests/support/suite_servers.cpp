#include "tests/support/suite_servers.hpp"

#include <gtest/gtest.h>

namespace sleet::test {

void start_suite_servers(SuiteServers& env, const std::string& prefix) {
  env.dir = std::make_unique<TempDir>(prefix);
  auto zk = EmbeddedZooKeeper::start(env.dir->path() / "zk", 0);
  ASSERT_TRUE(zk.ok()) << zk.status().to_string();
  env.zk = std::move(zk).value();
  auto k = kafka::MockCluster::start(1);
  ASSERT_TRUE(k.ok()) << k.status().to_string();
  env.kafka = std::move(k).value();
}

}  // namespace sleet::test
