// The generative exactly-once test's generator (tests/support/generative.hpp), without processes:
// every drawn shape is a valid topology (`sleet validate`, which also checks every grouping form
// the generator writes), the draws cover the ranges issue 10 asks for, and the rules computed from
// the input agree with a tuple-by-tuple simulation of the graph and reject lost, repeated and
// wrong output.
#include <gtest/gtest.h>

#include <set>

#include "tests/support/generative.hpp"
#include "tests/support/support.hpp"

using namespace sleet::test;
using namespace std::chrono_literals;

namespace {

std::string plugin_path() {
  return std::string(SLEET_BINARY_DIR) + "/plugins/libsleet_gen_bolts.so";
}

gen::YamlParams params(const std::string& dir, uint64_t seed) {
  gen::YamlParams p;
  p.name = "gen_" + std::to_string(seed);
  p.topic_prefix = p.name;
  p.plugin = plugin_path();
  p.out_dir = dir + "/out";
  p.bootstrap = "127.0.0.1:9092";
  p.zookeeper = "127.0.0.1:2181";
  p.checkpoint_dir = dir + "/checkpoints";
  return p;
}

}  // namespace

TEST(GenerativeShape, SameSeedSameShapeAndInput) {
  for (uint64_t seed : {1u, 42u, 999u}) {
    auto a = gen::draw(seed), b = gen::draw(seed);
    EXPECT_EQ(gen::to_yaml(a, params("/x", seed)), gen::to_yaml(b, params("/x", seed)));
    auto ia = gen::draw_input(a), ib = gen::draw_input(b);
    ASSERT_EQ(ia.size(), ib.size());
    for (size_t i = 0; i < ia.size(); ++i) {
      EXPECT_EQ(ia[i].value(), ib[i].value());
      EXPECT_EQ(ia[i].partition, ib[i].partition);
    }
  }
  EXPECT_NE(gen::to_yaml(gen::draw(1), params("/x", 0)),
            gen::to_yaml(gen::draw(2), params("/x", 0)));
}

// Over many seeds the draws reach every end of every range the issue names, and every shape is
// well-formed: each bolt has an input, each non-sink an output, no stream twice, a KeyedCount's
// inputs all hash on key or all go to task 0.
TEST(GenerativeShape, CoversTheRequiredRanges) {
  std::set<int> topics, partitions, spouts, sinks, parallelism, count_inputs;
  std::set<std::string> sink_groupings;
  bool shared_topic = false, count_multi_path = false, no_count = false, tag_chain = false;
  gen::Options small;  // the ranges drawn do not depend on the input size
  small.min_records = small.max_records = 10;
  for (uint64_t seed = 1; seed <= 2000; ++seed) {
    auto s = gen::draw(seed, small);
    topics.insert(static_cast<int>(s.topics.size()));
    for (auto& t : s.topics) partitions.insert(t.partitions);
    spouts.insert(s.count(gen::Kind::spout));
    sinks.insert(s.count(gen::Kind::sink));
    if (s.count(gen::Kind::count) == 0) no_count = true;
    std::set<int> read;
    std::set<std::pair<int, int>> edges;
    for (auto& st : s.streams) EXPECT_TRUE(edges.insert({st.from, st.to}).second) << seed;
    for (size_t c = 0; c < s.components.size(); ++c) {
      auto& comp = s.components[c];
      parallelism.insert(comp.parallelism);
      auto in = s.inputs_of(static_cast<int>(c));
      bool out = false;
      for (auto& st : s.streams) out |= st.from == static_cast<int>(c);
      if (comp.kind == gen::Kind::spout) {
        EXPECT_TRUE(in.empty()) << seed;
        if (!read.insert(comp.topic).second) shared_topic = true;
      } else {
        EXPECT_FALSE(in.empty()) << seed << " " << comp.id;
      }
      EXPECT_EQ(out, comp.kind != gen::Kind::sink) << seed << " " << comp.id;
      for (int u : in)
        EXPECT_LT(u, static_cast<int>(c)) << "not in topological order, seed " << seed;
      if (comp.kind == gen::Kind::tag) {
        for (int u : in) tag_chain |= s.components[static_cast<size_t>(u)].kind == gen::Kind::tag;
      }
      if (comp.kind == gen::Kind::count) {
        count_inputs.insert(static_cast<int>(in.size()));
        std::set<gen::Grouping> g;
        for (auto& st : s.streams)
          if (st.to == static_cast<int>(c)) {
            g.insert(st.grouping);
            if (st.grouping == gen::Grouping::fields) {
              EXPECT_EQ(st.field, "key") << seed;
            }
          }
        EXPECT_EQ(g.size(), 1u) << "KeyedCount inputs mix groupings, seed " << seed;
      }
      if (comp.kind == gen::Kind::sink) {
        for (auto& st : s.streams)
          if (st.to == static_cast<int>(c)) sink_groupings.insert(gen::grouping_name(st.grouping));
      }
    }
    EXPECT_EQ(read.size(), s.topics.size()) << "a topic no spout reads, seed " << seed;
    // Several paths into one KeyedCount: some topic's records reach it more than once.
    auto input = gen::draw_input(s);
    for (auto& [sink, rules] : gen::expectations(s, input))
      for (auto& [bolt, keys] : rules.counts) {
        int64_t updates = 0;
        for (auto& [k, t] : keys) updates += t.updates;
        if (updates > static_cast<int64_t>(input.size())) count_multi_path = true;
      }
  }
  EXPECT_EQ(topics, (std::set<int>{1, 2, 3}));
  EXPECT_EQ(partitions, (std::set<int>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(spouts, (std::set<int>{1, 2, 3}));
  EXPECT_EQ(sinks, (std::set<int>{2, 3, 4}));
  EXPECT_EQ(parallelism, (std::set<int>{1, 2, 3}));
  EXPECT_EQ(count_inputs, (std::set<int>{1, 2, 3}));
  EXPECT_EQ(sink_groupings,
            (std::set<std::string>{"fields", "global", "local_or_shuffle", "shuffle"}));
  EXPECT_TRUE(shared_topic);
  EXPECT_TRUE(count_multi_path);
  EXPECT_TRUE(no_count);
  EXPECT_TRUE(tag_chain);
}

TEST(GenerativeShape, WithoutSharedTopicsEverySpoutHasItsOwn) {
  gen::Options o;
  o.shared_topics = false;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    auto s = gen::draw(seed, o);
    std::set<int> read;
    for (auto& c : s.components)
      if (c.kind == gen::Kind::spout) {
        EXPECT_TRUE(read.insert(c.topic).second) << seed;
      }
  }
}

// `sleet validate` accepts every drawn topology, with every grouping in every spelling drawn.
TEST(GenerativeShape, EveryShapeValidates) {
  TempDir dir("sleet-gen-validate");
  std::set<std::pair<std::string, int>> forms;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    auto s = gen::draw(seed);
    for (auto& st : s.streams) forms.insert({gen::grouping_name(st.grouping), st.form});
    auto f = dir.path() / ("gen_" + std::to_string(seed) + ".yaml");
    std::string yaml = gen::to_yaml(s, params(dir.str(), seed));
    write_file(f, yaml);
    auto r = run_command({SLEET_CLI_PATH, "validate", f.string()}, 30s);
    EXPECT_EQ(r.status, 0) << "seed " << seed << ":\n" << yaml << r.out << r.err;
    EXPECT_EQ(r.err.find("warning"), std::string::npos) << "seed " << seed << ":\n"
                                                        << yaml << r.err;
  }
  for (auto g : {"shuffle", "global", "local_or_shuffle"})
    for (int form : {0, 1, 2}) EXPECT_TRUE(forms.count({g, form})) << g << " form " << form;
  for (int form : {1, 2}) EXPECT_TRUE(forms.count({"fields", form})) << "fields form " << form;
}

// The rules (counted over paths) agree with pushing every record through the graph, and reject
// a lost line, a repeated line and a wrong final value.
TEST(GenerativeShape, RulesAgreeWithSimulationAndCatchFaults) {
  gen::Options small;
  small.min_records = 20;
  small.max_records = 60;
  int dropped = 0, repeated = 0, wrong_sum = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    auto s = gen::draw(seed, small);
    auto input = gen::draw_input(s);
    auto rules = gen::expectations(s, input);
    auto out = gen::simulate(s, input);
    ASSERT_EQ(rules.size(), out.size());
    for (auto& [sink, lines] : out) {
      ASSERT_TRUE(rules.count(sink));
      const auto& r = rules.at(sink);
      EXPECT_EQ(static_cast<int64_t>(lines.size()), r.total_lines()) << seed << " " << sink;
      EXPECT_EQ(gen::check_sink(r, lines), "") << "seed " << seed << " " << sink << "\n"
                                               << gen::describe(s);
      if (lines.empty()) continue;
      size_t pick = seed % lines.size();
      auto lost = lines;
      lost.erase(lost.begin() + static_cast<long>(pick));
      EXPECT_NE(gen::check_sink(r, lost), "") << "a lost line passed, seed " << seed;
      ++dropped;
      auto again = lines;
      again.push_back(lines[pick]);
      EXPECT_NE(gen::check_sink(r, again), "") << "a repeated line passed, seed " << seed;
      ++repeated;
      // The last count line of a key carries its final sum: change it.
      for (size_t i = lines.size(); i-- > 0;) {
        auto f = lines[i];
        if (std::count(f.begin(), f.end(), '\t') != 3) continue;
        auto wrong = lines;
        wrong[i] = f.substr(0, f.rfind('\t') + 1) + "-1";
        EXPECT_NE(gen::check_sink(r, wrong), "") << "a wrong final sum passed, seed " << seed;
        ++wrong_sum;
        break;
      }
    }
  }
  EXPECT_GT(dropped, 300);
  EXPECT_GT(wrong_sum, 100);
}
