// The stored definition of a submitted topology (cluster/submission.hpp), without ZooKeeper:
// definition_yaml reads back into the same spec (substitution happened once, on the submitting
// host), the envelope round-trips, and a plugin whose bytes differ is refused naming it.
#include <gtest/gtest.h>

#include <cstdlib>

#include "cluster/submission.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace sleet::cluster;

namespace {

LoadedTopology load_text(const std::string& text, const std::string& path = "/x/t.yaml") {
  LoadOptions lo;
  lo.load_plugins = false;
  lo.validate = false;
  std::vector<Diagnostic> diags;
  auto t = load_topology_file_text(text, path, lo, diags);
  std::string all;
  for (auto& d : diags) all += d.to_string() + "\n";
  EXPECT_TRUE(t.ok()) << all;
  return t.ok() ? std::move(t).value() : LoadedTopology{};
}

std::string describe(const TopologySpec& s) {
  std::string out = "name=" + s.name + "\n";
  for (auto& [k, v] : s.config) out += "config " + k + "=" + v + "\n";
  for (auto& p : s.plugins) out += "plugin " + p + "\n";
  for (auto& c : s.components) {
    out += std::string(c.kind == ComponentKind::spout ? "spout " : "bolt ") + c.id + " " +
           c.class_name + " x" + std::to_string(c.parallelism) + " " +
           error_policy_name(c.on_error) + " dl=" + c.dead_letter_topic + "\n";
    for (auto& [k, v] : c.args.all())
      out += "  arg " + k + " kind " + std::to_string(static_cast<int>(v.kind())) + " = " +
             v.to_string() + "\n";
  }
  for (auto& st : s.streams) {
    out +=
        "stream " + st.from + "." + st.stream + ">" + st.to + " " + grouping_name(st.grouping.type);
    for (auto& f : st.grouping.fields) out += " " + f;
    out += "\n";
  }
  return out;
}

}  // namespace

TEST(DefinitionYaml, ReadsBackIntoTheSameSpecWithoutSubstitutingAgain) {
  ::setenv("SLEET_DEF_TEST_TOPIC", "from-env", 1);
  ::setenv("SLEET_DEF_TEST_DOLLAR", "${NOT_A_VAR}", 1);
  const std::string text = R"(name: defs
config:
  checkpoint.interval.ms: 250
  custom.key: "a: b # not a comment"
plugins:
  - libs/libmine.so
topics:
  - name: in
    partitions: 3
spouts:
  - id: src
    class: KafkaSpout
    parallelism: 2
    args:
      topic: ${SLEET_DEF_TEST_TOPIC}
      literal: "$${KEEP}"
      from_env_with_dollar: ${SLEET_DEF_TEST_DOLLAR}
      n: 5
      quoted_n: "5"
      ratio: 2.0
      precise: 0.1
      big: 1e300
      flag: true
      nothing: ~
      list: [1, "two", [3.5, false], {k: v}]
      map: {"we ird": "line\nbreak\ttab \"q\" \\ back", empty: [], e2: {}}
      unicode: "grüße ☃"
bolts:
  - id: split
    class: SplitSentence
    parallelism: 4
    on_error: dead_letter
    dead_letter_topic: dead
  - id: out
    class: FileSink
    args: {path: /tmp/out, format: tsv}
streams:
  - {from: src, to: split, grouping: local_or_shuffle}
  - {from: split, to: out, grouping: {type: fields, fields: [word, n]}}
  - {from: split, to: out, grouping: {type: SHUFFLE, streamId: errors}}
)";
  LoadedTopology first = load_text(text);
  ASSERT_EQ(first.spec.components.size(), 3u);
  EXPECT_EQ(first.spec.components[0].args.string_or("topic", ""), "from-env");
  EXPECT_EQ(first.spec.components[0].args.string_or("literal", ""), "${KEEP}");
  EXPECT_EQ(first.spec.components[0].args.string_or("from_env_with_dollar", ""), "${NOT_A_VAR}");

  const std::string yaml = definition_yaml(first);
  // The variables are gone from the environment of the host that reads it.
  ::unsetenv("SLEET_DEF_TEST_TOPIC");
  ::unsetenv("SLEET_DEF_TEST_DOLLAR");
  LoadedTopology again = load_text(yaml, "zookeeper:/sleet/topologies/defs/definition");
  EXPECT_EQ(describe(again.spec), describe(first.spec)) << yaml;
  ASSERT_EQ(again.spec.streams.size(), 3u);
  EXPECT_EQ(again.spec.streams[2].stream, "errors") << "a named stream survives submission";
  EXPECT_EQ(again.spec.plugins, (std::vector<std::string>{"/x/libs/libmine.so"}));
  ASSERT_EQ(again.topics.size(), 1u);
  EXPECT_EQ(again.topics[0].partitions, 3);
  EXPECT_EQ(again.spec.components[0].args.double_or("precise", 0), 0.1);
  EXPECT_EQ(again.spec.components[0].args.find("ratio")->kind(), ArgKind::number);
  EXPECT_EQ(definition_yaml(again), yaml) << "a second round trip changes nothing";
}

TEST(DefinitionEnvelope, RoundTripsAndRefusesAMalformedOne) {
  Definition d;
  d.name = "t";
  d.yaml = "name: \"t\"\n";
  d.plugins = {{"/opt/my plugins/libx.so", 1234, 0xdeadbeef}, {"/p/liby.so", 0, 0}};
  d.submitted_by = "host1 pid 7 at 99";
  auto back = decode_definition("t", encode_definition(d));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_TRUE(back->same_as(d));
  EXPECT_EQ(back->plugins, d.plugins);
  EXPECT_EQ(back->submitted_by, d.submitted_by);
  EXPECT_EQ(back->yaml, d.yaml);

  for (const std::string& bad :
       {std::string("name: t\n"), std::string("# sleet definition v1\n"),
        std::string("# sleet definition v1\n# plugin zz 1 /a\nname: t\n")}) {
    auto r = decode_definition("t", bad);
    EXPECT_EQ(r.status().code(), Code::corruption) << bad;
  }
}

TEST(DefinitionPlugins, ADifferentBuildOnThisHostIsRefusedNamingItAndBothChecksums) {
  test::TempDir dir("sleet-def");
  const std::string lib = (dir.path() / "libmine.so").string();
  test::write_file(lib, "first build");
  auto c = checksum_plugin(lib);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->size, 11);
  Definition d;
  d.name = "t";
  d.plugins = {*c};
  d.submitted_by = "hostA pid 1 at 2";
  EXPECT_TRUE(verify_plugins(d, "hostB").ok());

  test::write_file(lib, "second build");
  Status s = verify_plugins(d, "hostB");
  EXPECT_EQ(s.code(), Code::incompatible);
  auto now = checksum_plugin(lib);
  ASSERT_TRUE(now.ok());
  for (const std::string& part :
       {lib, std::string("hostB"), describe_checksum(*c), describe_checksum(*now),
        std::string("same path on every host"), std::string("sleet submit --replace")})
    EXPECT_NE(s.message().find(part), std::string::npos) << part << " in: " << s.message();

  std::filesystem::remove(lib);
  s = verify_plugins(d, "hostB");
  EXPECT_EQ(s.code(), Code::not_found);
  EXPECT_NE(s.message().find(lib), std::string::npos) << s.message();
}
