// kafka/kafka.hpp: classify() is the one mapping of librdkafka error codes to sleet codes, and
// error_status() wraps it. Table test over every error code this librdkafka knows
// (rd_kafka_get_err_descs): the codes listed below map as listed, every other one is internal.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "kafka/kafka.hpp"

namespace {

using sleet::Code;
using sleet::kafka::classify;
using sleet::kafka::error_status;

// Written out by hand from kafka.hpp's contract: broker/network trouble -> unavailable, timeouts
// -> timeout, unknown topic/partition -> not_found, bad configuration or arguments ->
// invalid_argument, fencing -> fenced, purges/destroy -> cancelled, the rest -> internal.
const std::map<Code, std::set<rd_kafka_resp_err_t>>& expected() {
  static const std::map<Code, std::set<rd_kafka_resp_err_t>> m = {
      {Code::ok, {RD_KAFKA_RESP_ERR_NO_ERROR}},
      {Code::timeout,
       {RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
        RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT}},
      {Code::unavailable,
       {RD_KAFKA_RESP_ERR__TRANSPORT,
        RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
        RD_KAFKA_RESP_ERR__RESOLVE,
        RD_KAFKA_RESP_ERR__QUEUE_FULL,
        RD_KAFKA_RESP_ERR__WAIT_COORD,
        RD_KAFKA_RESP_ERR__NODE_UPDATE,
        RD_KAFKA_RESP_ERR__RETRY,
        RD_KAFKA_RESP_ERR__IN_PROGRESS,
        RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION,
        RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR,
        RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND,
        RD_KAFKA_RESP_ERR_INVALID_FETCH_SESSION_EPOCH,
        RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH,
        RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH,
        RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED,
        RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS}},
      {Code::not_found,
       {RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION,
        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE,
        RD_KAFKA_RESP_ERR__NOENT}},
      {Code::already_exists,
       {RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS, RD_KAFKA_RESP_ERR__EXISTING_SUBSCRIPTION}},
      {Code::invalid_argument,
       {RD_KAFKA_RESP_ERR__INVALID_ARG,
        RD_KAFKA_RESP_ERR__INVALID_TYPE,
        RD_KAFKA_RESP_ERR__NOT_CONFIGURED,
        RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE,
        RD_KAFKA_RESP_ERR__AUTHENTICATION,
        RD_KAFKA_RESP_ERR__SSL,
        RD_KAFKA_RESP_ERR_INVALID_CONFIG,
        RD_KAFKA_RESP_ERR_INVALID_PARTITIONS,
        RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR,
        RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS,
        RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
        RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
        RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE,
        RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION,
        RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
        RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION,
        RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM,
        RD_KAFKA_RESP_ERR_POLICY_VIOLATION}},
      {Code::fenced,
       {RD_KAFKA_RESP_ERR__FENCED, RD_KAFKA_RESP_ERR_PRODUCER_FENCED,
        RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH}},
      {Code::cancelled,
       {RD_KAFKA_RESP_ERR__DESTROY, RD_KAFKA_RESP_ERR__PURGE_QUEUE,
        RD_KAFKA_RESP_ERR__PURGE_INFLIGHT}},
  };
  return m;
}

Code expected_code(rd_kafka_resp_err_t err) {
  for (const auto& [code, errs] : expected())
    if (errs.count(err)) return code;
  return Code::internal;
}

std::map<rd_kafka_resp_err_t, std::string> known_errors() {
  const rd_kafka_err_desc* descs = nullptr;
  size_t n = 0;
  rd_kafka_get_err_descs(&descs, &n);
  std::map<rd_kafka_resp_err_t, std::string> out;
  for (size_t i = 0; i < n; ++i)
    if (descs[i].name) out[descs[i].code] = descs[i].name;
  return out;
}

TEST(KafkaClassify, EveryLibrdkafkaErrorMapsAsTheTableSays) {
  const auto known = known_errors();
  ASSERT_GT(known.size(), 100u) << "librdkafka lists its error codes";
  for (const auto& [err, name] : known) {
    EXPECT_EQ(classify(err), expected_code(err))
        << name << " (" << static_cast<int>(err) << "): got " << sleet::code_name(classify(err))
        << ", want " << sleet::code_name(expected_code(err));
  }
  // Every row of the table is an error this librdkafka knows (no typo, no code it dropped).
  for (const auto& [code, errs] : expected())
    for (rd_kafka_resp_err_t err : errs)
      EXPECT_TRUE(known.count(err))
          << static_cast<int>(err) << " in the " << sleet::code_name(code) << " row";
}

TEST(KafkaClassify, ErrorsOutsideTheTableAreInternalIncludingFatalOnes) {
  for (auto err : {RD_KAFKA_RESP_ERR__FATAL, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                   RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID, RD_KAFKA_RESP_ERR__BAD_MSG,
                   RD_KAFKA_RESP_ERR__CRIT_SYS_RESOURCE, static_cast<rd_kafka_resp_err_t>(-12345)})
    EXPECT_EQ(classify(err), Code::internal) << rd_kafka_err2name(err);
}

// error_status carries classify()'s code, so the error's class and the worker's exit status come
// from the one table in include/sleet/status.hpp.
TEST(KafkaClassify, ErrorStatusCarriesTheCodeAndNamesTheError) {
  for (const auto& [err, name] : known_errors()) {
    sleet::Status s = error_status(err, "fetching t [3]");
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      EXPECT_TRUE(s.ok());
      continue;
    }
    ASSERT_FALSE(s.ok()) << name;
    EXPECT_EQ(s.code(), classify(err)) << name;
    EXPECT_EQ(s.error_class(), sleet::code_info(classify(err)).error_class) << name;
    EXPECT_EQ(s.message().rfind("fetching t [3]: ", 0), 0u) << s.message();
    EXPECT_NE(s.message().find(std::string("(") + rd_kafka_err2name(err) + ")"), std::string::npos)
        << s.message();
  }
  EXPECT_EQ(error_status(RD_KAFKA_RESP_ERR__TRANSPORT, "x").error_class(),
            sleet::ErrorClass::retriable);
  EXPECT_EQ(error_status(RD_KAFKA_RESP_ERR_PRODUCER_FENCED, "x").worker_exit(),
            sleet::WorkerExit::unrecoverable);
  EXPECT_EQ(error_status(RD_KAFKA_RESP_ERR__FATAL, "x").worker_exit(), sleet::WorkerExit::restart);
}

}  // namespace
