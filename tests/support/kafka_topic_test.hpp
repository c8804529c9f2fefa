// A gtest fixture: one mock Kafka cluster per test suite (starting is cheap, stopping may take a
// second), and per test a fresh topic named after the test, with the partition count the
// subclass's constructor names.
//
//   class MyTest : public sleet::test::KafkaTopicTest {
//    protected:
//     MyTest() : KafkaTopicTest(/*partitions=*/2) {}
//   };
//   TEST_F(MyTest, Reads) { produce(boot_, topic_, {...}); }
//
// Test thread only.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "kafka/kafka.hpp"

namespace sleet::test {

class KafkaTopicTest : public ::testing::Test {
 public:
  static void SetUpTestSuite();     // starts kafka_
  static void TearDownTestSuite();  // stops it

 protected:
  explicit KafkaTopicTest(int partitions) : partitions_(partitions) {}
  void SetUp() override;  // boot_, topic_, and the topic created (asserted)

  static inline std::unique_ptr<kafka::MockCluster> kafka_;
  std::string boot_;   // kafka_'s bootstrap servers
  std::string topic_;  // the current test's name

 private:
  int partitions_;
};

}  // namespace sleet::test
