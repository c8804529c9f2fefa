#include <gtest/gtest.h>
#include <sleet/topology.hpp>
#include <sleet/tuple.hpp>

TEST(Tuple, TypedAccessByName) {
  sleet::Fields f{"word", "count"};
  sleet::Tuple t(&f, {std::string("the"), int64_t{3}});
  EXPECT_EQ(t.get_string("word"), "the");
  EXPECT_EQ(t.get_int("count"), 3);
  EXPECT_THROW(t.get_int("word"), std::invalid_argument);
  EXPECT_THROW(t.at("nope"), std::invalid_argument);
}

TEST(Topology, FingerprintChangesWithParallelism) {
  auto a = sleet::TopologyBuilder("t")
               .spout("s", "KafkaSpout", 1)
               .bolt("b", "X", 2)
               .stream("s", "b")
               .build();
  auto b = sleet::TopologyBuilder("t")
               .spout("s", "KafkaSpout", 1)
               .bolt("b", "X", 3)
               .stream("s", "b")
               .build();
  EXPECT_NE(a.fingerprint(), b.fingerprint());
  EXPECT_EQ(a.fingerprint(), a.fingerprint());
}
