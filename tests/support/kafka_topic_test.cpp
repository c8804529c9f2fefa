#include "tests/support/kafka_topic_test.hpp"

#include "tests/support/kafka_fixture.hpp"

namespace sleet::test {

void KafkaTopicTest::SetUpTestSuite() {
  kafka_ = start_kafka({});
}

void KafkaTopicTest::TearDownTestSuite() {
  kafka_.reset();
}

void KafkaTopicTest::SetUp() {
  boot_ = kafka_->bootstrap();
  topic_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  ASSERT_TRUE(kafka_->create_topic(topic_, partitions_).ok());
}

}  // namespace sleet::test
