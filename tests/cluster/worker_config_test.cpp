// The worker reads its config through WorkerConfig::from (core/config.hpp): a topology built in C++
// (never seen by the validator) with a bad value is refused before anything starts, naming the
// key, the value and the expected kind. Before, the worker guessed: `checkpoint.enabled: maybe`
// meant "on" and "12abc" meant 12. Nothing is started: no ZooKeeper, no Kafka, no sleep.
#include <gtest/gtest.h>

#include "cluster/worker.hpp"

namespace sleet {
namespace {

Status run_with(const std::string& key, const std::string& value) {
  TopologySpec spec = TopologyBuilder("bad-config")
                          .config("checkpoint.enabled", "false")
                          .config(key, value)
                          .spout("s", "NoSuchSpout", 1)
                          .build();
  Registry empty;
  Worker w(std::move(spec), empty, WorkerOptions{});
  return w.run();
}

TEST(WorkerConfig, ABadValueIsRefusedNamingTheKey) {
  Status s = run_with("checkpoint.enabled", "maybe");
  EXPECT_EQ(s.code(), Code::invalid_argument) << s.to_string();
  EXPECT_NE(s.message().find("config checkpoint.enabled must be true or false, got 'maybe'"),
            std::string::npos)
      << s.to_string();
  EXPECT_NE(s.message().find("bad-config"), std::string::npos) << s.to_string();

  s = run_with("worker.batch.size", "12abc");
  EXPECT_EQ(s.code(), Code::invalid_argument) << s.to_string();
  EXPECT_NE(s.message().find("config worker.batch.size must be a whole number, got '12abc'"),
            std::string::npos)
      << s.to_string();
}

}  // namespace
}  // namespace sleet
