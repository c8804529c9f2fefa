// Pure parts of the Kafka components: the partition split among spout tasks, the publish cursor
// encoding, the librdkafka error classification.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>

#include "bolts/kafka_sink.hpp"
#include "spouts/kafka_spout.hpp"

using namespace sleet;
using namespace sleet::kafka;

TEST(AssignPartitions, EveryPartitionOwnedExactlyOnceAndBalanced) {
  for (int m = 1; m <= 24; ++m) {
    std::vector<int32_t> parts(m);
    std::iota(parts.begin(), parts.end(), 0);
    std::reverse(parts.begin(), parts.end());  // input order must not matter
    for (int n = 1; n <= 10; ++n) {
      std::map<int32_t, int> owner;
      size_t lo = SIZE_MAX, hi = 0;
      for (int t = 0; t < n; ++t) {
        auto mine = assign_partitions(parts, t, n);
        EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));
        lo = std::min(lo, mine.size());
        hi = std::max(hi, mine.size());
        for (int32_t p : mine) {
          EXPECT_EQ(owner.count(p), 0u)
              << "partition " << p << " owned twice (m=" << m << " n=" << n << ")";
          owner[p] = t;
          EXPECT_EQ(p % n, t) << "dense ids: partition p goes to task p % parallelism";
        }
      }
      EXPECT_EQ(owner.size(), static_cast<size_t>(m)) << "m=" << m << " n=" << n;
      EXPECT_LE(hi - lo, 1u) << "m=" << m << " n=" << n;
    }
  }
}

TEST(AssignPartitions, SparseIdsAndDuplicatesAndBadTask) {
  std::vector<int32_t> parts = {7, 3, 3, 11, 5};
  EXPECT_EQ(assign_partitions(parts, 0, 2), (std::vector<int32_t>{3, 7}));
  EXPECT_EQ(assign_partitions(parts, 1, 2), (std::vector<int32_t>{5, 11}));
  EXPECT_TRUE(assign_partitions(parts, 2, 2).empty());
  EXPECT_TRUE(assign_partitions(parts, 0, 0).empty());
  EXPECT_TRUE(assign_partitions({}, 0, 3).empty());
}

TEST(PublishCursor, RoundTrips) {
  PublishCursor c;
  c.epoch = 42;
  c.published = false;
  c.offsets = {{0, 120}, {1, 0}, {2, 98765432101}};
  EXPECT_EQ(c.encode(), "v1 epoch=42 published=0 offsets=0:120,1:0,2:98765432101");
  auto d = PublishCursor::decode(c.encode());
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(*d, c);
  c.published = true;
  c.offsets.clear();
  d = PublishCursor::decode(c.encode());
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(*d, c);
}

TEST(PublishCursor, RejectsGarbage) {
  for (const char* bad : {"", "v2 epoch=1 published=0 offsets=", "v1 epoch=x published=0 offsets=",
                          "v1 epoch=1 published=2 offsets=", "v1 epoch=1 published=0 offsets=0",
                          "v1 epoch=1 published=0 offsets=0:1,", "v1 epoch=1 published=0"}) {
    auto d = PublishCursor::decode(bad);
    EXPECT_FALSE(d.ok()) << "'" << bad << "'";
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), Code::corruption) << bad;
    }
  }
}

TEST(Classify, MapsLibrdkafkaErrors) {
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR_NO_ERROR), Code::ok);
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR__TRANSPORT), Code::unavailable);
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN), Code::unavailable);
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE), Code::unavailable);
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR__TIMED_OUT), Code::timeout);
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT), Code::timeout);
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART), Code::not_found);
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS), Code::already_exists);
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR__INVALID_ARG), Code::invalid_argument);
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED), Code::invalid_argument);
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR__FENCED), Code::fenced);
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR__DESTROY), Code::cancelled);
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR__FATAL), Code::internal);
  EXPECT_EQ(classify(RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER), Code::internal);
  Status s = error_status(RD_KAFKA_RESP_ERR__TRANSPORT, "fetching");
  EXPECT_EQ(s.error_class(), ErrorClass::retriable);
  EXPECT_NE(s.message().find("fetching: "), std::string::npos);
  EXPECT_NE(s.message().find("_TRANSPORT"), std::string::npos);
  EXPECT_TRUE(error_status(RD_KAFKA_RESP_ERR_NO_ERROR, "x").ok());
}

TEST(KafkaClients, BadPropertyIsInvalidArgumentNamingIt) {
  auto c = make_consumer({{"bootstrap.servers", "127.0.0.1:1"}, {"fetch.wait.max.ms", "soon"}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::invalid_argument);
  EXPECT_NE(c.status().message().find("fetch.wait.max.ms"), std::string::npos);
  auto p = make_producer({{"bootstrap.servers", "127.0.0.1:1"}, {"no.such.property", "1"}}, true);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("no.such.property"), std::string::npos);
  auto nb = make_consumer({});
  ASSERT_FALSE(nb.ok());
  EXPECT_NE(nb.status().message().find("bootstrap.servers"), std::string::npos);
}
