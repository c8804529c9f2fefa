// spouts/kafka_spout.hpp: what KafkaSpout does with an error event from its consumer queue follows
// the one classification (kafka::classify, then the ErrorClass in include/sleet/status.hpp): it
// fails exactly on fatal codes and keeps consuming on retriable and abort ones. Before the
// classification was shared the spout kept its own list (invalid_argument, internal) and consumed
// on through a fencing error that the worker treats as unrecoverable.
#include <gtest/gtest.h>

#include "spouts/kafka_spout.hpp"

namespace {

using sleet::ErrorClass;
using sleet::kafka::classify;
using sleet::kafka::consume_error_action;
using sleet::kafka::ConsumeErrorAction;

TEST(KafkaSpoutErrors, EveryLibrdkafkaErrorIsHandledAsItsClassSays) {
  const rd_kafka_err_desc* descs = nullptr;
  size_t n = 0;
  rd_kafka_get_err_descs(&descs, &n);
  ASSERT_GT(n, 100u);
  size_t fail = 0, go_on = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!descs[i].name) continue;
    const rd_kafka_resp_err_t err = descs[i].code;
    SCOPED_TRACE(descs[i].name);
    ConsumeErrorAction want;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
      want = ConsumeErrorAction::ignore;
    else if (sleet::code_info(classify(err)).error_class == ErrorClass::fatal)
      want = ConsumeErrorAction::fail;
    else
      want = ConsumeErrorAction::log_and_continue;
    EXPECT_EQ(consume_error_action(err), want);
    (want == ConsumeErrorAction::fail ? fail : go_on)++;
  }
  EXPECT_GT(fail, 0u);
  EXPECT_GT(go_on, 0u);
}

TEST(KafkaSpoutErrors, TheRowsThatMatter) {
  // Broker trouble: librdkafka retries, the spout keeps consuming.
  EXPECT_EQ(consume_error_action(RD_KAFKA_RESP_ERR__TRANSPORT),
            ConsumeErrorAction::log_and_continue);
  EXPECT_EQ(consume_error_action(RD_KAFKA_RESP_ERR__TIMED_OUT),
            ConsumeErrorAction::log_and_continue);
  // Abort class: a partition briefly unknown during leader moves, a purged request.
  EXPECT_EQ(consume_error_action(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART),
            ConsumeErrorAction::log_and_continue);
  EXPECT_EQ(consume_error_action(RD_KAFKA_RESP_ERR__DESTROY), ConsumeErrorAction::log_and_continue);
  // Fatal class: fails the spout, and the worker exits as the code says (3 for these two).
  EXPECT_EQ(consume_error_action(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED),
            ConsumeErrorAction::fail);
  EXPECT_EQ(consume_error_action(RD_KAFKA_RESP_ERR__FENCED), ConsumeErrorAction::fail);
  EXPECT_EQ(consume_error_action(RD_KAFKA_RESP_ERR__FATAL), ConsumeErrorAction::fail);
  EXPECT_EQ(consume_error_action(RD_KAFKA_RESP_ERR__PARTITION_EOF), ConsumeErrorAction::ignore);
}

}  // namespace
