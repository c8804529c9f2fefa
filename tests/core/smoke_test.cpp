#include <gtest/gtest.h>

#include <cereal/types/unordered_map.hpp>

#include <random>
#include <sleet/args.hpp>
#include <sleet/component.hpp>
#include <sleet/keyed_state.hpp>
#include <sleet/topology.hpp>
#include <sleet/tuple.hpp>
#include <sstream>
#include <unordered_map>

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

// Writes `from` as a snapshot does and reads it back as a To.
template <class To, class From>
To snapshot_as(const From& from) {
  std::ostringstream os(std::ios::binary);
  {
    sleet::StateWriter w(os);
    w(from);
  }
  std::istringstream is(os.str(), std::ios::binary);
  To to;
  {
    sleet::StateReader r(is);
    r(to);
  }
  return to;
}

TEST(KeyedState, LooksUpByViewAndSerializesLikeAPlainMap) {
  sleet::KeyedState<int64_t> s;
  std::string_view text = "the cat the";
  ++s[text.substr(0, 3)];
  ++s[text.substr(4, 3)];
  ++s[text.substr(8, 3)];
  EXPECT_EQ(s.size(), 2u);
  ASSERT_NE(s.find("the"), nullptr);
  EXPECT_EQ(*s.find("the"), 2);
  EXPECT_EQ(s.find("dog"), nullptr);
  EXPECT_TRUE(s.erase("cat"));
  EXPECT_FALSE(s.contains("cat"));

  // The format is that of std::unordered_map<std::string, V>: a bolt may switch either way.
  auto plain = snapshot_as<std::unordered_map<std::string, int64_t>>(s);
  EXPECT_EQ(plain, (std::unordered_map<std::string, int64_t>{{"the", 2}}));
  auto back = snapshot_as<sleet::KeyedState<int64_t>>(plain);
  EXPECT_EQ(back.size(), 1u);
  EXPECT_EQ(*back.find("the"), 2);
}

// KeyedState against std::unordered_map under random inserts, updates and erases (erase uses
// backward shifting, the subtle part of an open-addressing table).
TEST(KeyedState, BehavesLikeAMapUnderRandomOperations) {
  sleet::KeyedState<int64_t> s;
  std::unordered_map<std::string, int64_t> ref;
  std::mt19937_64 rng(7);
  for (int op = 0; op < 200000; ++op) {
    std::string key = "k" + std::to_string(rng() % 3000);
    switch (rng() % 4) {
      case 0:
        EXPECT_EQ(s.erase(key), ref.erase(key) == 1);
        break;
      default:
        s[key] += op;
        ref[key] += op;
    }
    if (op % 1000 == 0) {
      ASSERT_EQ(s.size(), ref.size());
      for (auto& [k, v] : ref) {
        ASSERT_NE(s.find(k), nullptr) << k;
        ASSERT_EQ(*s.find(k), v) << k;
      }
    }
  }
  size_t seen = 0;
  s.for_each([&](const std::string& k, int64_t v) {
    ++seen;
    EXPECT_EQ(ref.at(k), v);
  });
  EXPECT_EQ(seen, ref.size());

  // Many keys through a snapshot, read back as a plain map.
  EXPECT_EQ((snapshot_as<std::unordered_map<std::string, int64_t>>(s)), ref);
}

// Regression: a huge number read as an integer was an out-of-range double-to-int cast (UB).
TEST(Args, NumbersReadAsIntegersSaturate) {
  EXPECT_EQ(sleet::Arg(1e300).as_int(), INT64_MAX);
  EXPECT_EQ(sleet::Arg(-1e300).as_int(), INT64_MIN);
  EXPECT_EQ(sleet::Arg(2.9).as_int(), 2);
  EXPECT_EQ(sleet::Arg(-2.9).as_int(), -2);
}
