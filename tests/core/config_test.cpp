// The one table of config keys and WorkerConfig::from: defaults, typed values, and refusals that
// name the key, the value and the expected kind. Pure: no files but the docs, no sockets.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "core/config.hpp"

namespace sleet {
namespace {

using Map = std::map<std::string, std::string>;

TEST(WorkerConfig, DefaultsComeFromTheTable) {
  auto c = WorkerConfig::from({});
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_TRUE(c->checkpoint_enabled);
  EXPECT_EQ(c->checkpoint_interval.count(), 1000);
  EXPECT_EQ(c->checkpoint_timeout.count(), 60000);
  EXPECT_EQ(c->checkpoint_inline_bytes, 128u * 1024u);
  EXPECT_EQ(c->checkpoint_dir, "sleet-state/checkpoints");
  EXPECT_EQ(c->kafka_bootstrap_servers, "");
  EXPECT_EQ(c->zookeeper_connect, "");
  EXPECT_EQ(c->zookeeper_root, "/sleet");
  EXPECT_EQ(c->zookeeper_session_timeout.count(), 10000);
  EXPECT_EQ(c->worker_threads, 0);
  EXPECT_EQ(c->worker_batch_size, 512u);
  EXPECT_EQ(c->worker_channel_capacity, 16u);
  EXPECT_TRUE(c->worker_chaining);
  // Derived: three checkpoint timeouts.
  EXPECT_EQ(c->worker_stall_timeout.count(), 3 * 60000);
}

TEST(WorkerConfig, ReadsEveryKeyTyped) {
  auto c = WorkerConfig::from({{"checkpoint.enabled", "false"},
                               {"checkpoint.interval.ms", "250"},
                               {"checkpoint.timeout.ms", "0x10"},
                               {"checkpoint.inline.bytes", "0"},
                               {"checkpoint.dir", "/var/lib/x"},
                               {"kafka.bootstrap.servers", "b:9092"},
                               {"zookeeper.connect", "z:2181"},
                               {"zookeeper.root", "/r"},
                               {"zookeeper.session.timeout.ms", "+7"},
                               {"worker.threads", "3"},
                               {"worker.batch.size", "0o10"},
                               {"worker.channel.capacity", "2"},
                               {"worker.chaining", "false"},
                               {"my.own.key", "anything"}});
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_FALSE(c->checkpoint_enabled);
  EXPECT_EQ(c->checkpoint_interval.count(), 250);
  EXPECT_EQ(c->checkpoint_timeout.count(), 16);
  EXPECT_EQ(c->checkpoint_inline_bytes, 0u);
  EXPECT_EQ(c->checkpoint_dir, "/var/lib/x");
  EXPECT_EQ(c->kafka_bootstrap_servers, "b:9092");
  EXPECT_EQ(c->zookeeper_connect, "z:2181");
  EXPECT_EQ(c->zookeeper_root, "/r");
  EXPECT_EQ(c->zookeeper_session_timeout.count(), 7);
  EXPECT_EQ(c->worker_threads, 3);
  EXPECT_EQ(c->worker_batch_size, 8u);
  EXPECT_EQ(c->worker_channel_capacity, 2u);
  EXPECT_FALSE(c->worker_chaining);
  EXPECT_EQ(c->worker_stall_timeout.count(), 3 * 16);  // follows the given checkpoint timeout
  auto s = WorkerConfig::from({{"worker.stall.timeout.ms", "5"}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->worker_stall_timeout.count(), 5);
}

// The old reader (TopologySpec::config_int) fell back to the default on any parse error and read
// "12abc" as 12; each row here is a value it silently misread.
struct Bad {
  const char* key;
  const char* value;
  const char* message;
};
class WorkerConfigRefuses : public ::testing::TestWithParam<Bad> {};

TEST_P(WorkerConfigRefuses, NamingKeyValueAndKind) {
  const Bad& b = GetParam();
  auto c = WorkerConfig::from({{b.key, b.value}});
  ASSERT_FALSE(c.ok()) << b.key << "=" << b.value;
  EXPECT_EQ(c.status().code(), Code::invalid_argument);
  EXPECT_EQ(c.status().message(), b.message);
}

INSTANTIATE_TEST_SUITE_P(
    Table, WorkerConfigRefuses,
    ::testing::Values(
        Bad{"worker.threads", "many", "config worker.threads must be a whole number, got 'many'"},
        Bad{"worker.batch.size", "12abc",
            "config worker.batch.size must be a whole number, got '12abc'"},
        Bad{"checkpoint.interval.ms", "",
            "config checkpoint.interval.ms must be a whole number, "
            "got ''"},
        Bad{"checkpoint.interval.ms", "0",
            "config checkpoint.interval.ms must be at least 1, got 0"},
        Bad{"checkpoint.inline.bytes", "-1",
            "config checkpoint.inline.bytes must be at least 0, got -1"},
        Bad{"worker.threads", "4294967296",
            "config worker.threads must be at most 2147483647, got 4294967296"},
        Bad{"checkpoint.timeout.ms", "99999999999999999999",
            "config checkpoint.timeout.ms is out of range: 99999999999999999999 does not fit a "
            "64-bit whole number (-9223372036854775808 to 9223372036854775807)"},
        Bad{"worker.stall.timeout.ms", "1.5",
            "config worker.stall.timeout.ms must be a whole number, got '1.5'"},
        Bad{"checkpoint.enabled", "yes",
            "config checkpoint.enabled must be true or false, got 'yes'"},
        Bad{"worker.chaining", "False",
            "config worker.chaining must be true or false, got 'False'"},
        Bad{"zookeeper.root", "sleet",
            "config zookeeper.root must be an absolute path like /sleet, got 'sleet'"}));

TEST(ConfigKeys, DefaultsParseInTheirKind) {
  std::set<std::string> names;
  for (auto& k : config_keys()) {
    EXPECT_TRUE(names.insert(std::string(k.name)).second) << "duplicate " << k.name;
    EXPECT_TRUE(is_sleet_config_namespace(k.name)) << k.name;
    EXPECT_FALSE(k.doc.empty()) << k.name;
    EXPECT_EQ(find_config_key(k.name), &k);
    if (k.default_value.empty()) continue;  // unset text, or a derived default
    Status s = check_config_value(k, std::string(k.default_value));
    EXPECT_TRUE(s.ok()) << k.name << ": " << s.to_string();
  }
  EXPECT_EQ(find_config_key("checkpoint.intervall.ms"), nullptr);
  EXPECT_FALSE(is_sleet_config_namespace("topology.workers"));
}

// docs/topology-file.md lists the same keys ("Config keys"): a key added to the table without its
// documentation row fails here.
TEST(ConfigKeys, EveryKeyIsDocumented) {
  std::ifstream in(std::string(SLEET_SOURCE_DIR) + "/docs/topology-file.md");
  ASSERT_TRUE(in) << "docs/topology-file.md";
  std::stringstream text;
  text << in.rdbuf();
  for (auto& k : config_keys())
    EXPECT_NE(text.str().find("| `" + std::string(k.name) + "` |"), std::string::npos)
        << k.name << " has no row in docs/topology-file.md";
}

TEST(WholeNumber, Grammar) {
  EXPECT_EQ(parse_whole_number("42"), 42);
  EXPECT_EQ(parse_whole_number("-42"), -42);
  EXPECT_EQ(parse_whole_number("+0"), 0);
  EXPECT_EQ(parse_whole_number("0x1f"), 31);
  EXPECT_EQ(parse_whole_number("0o17"), 15);
  EXPECT_EQ(parse_whole_number("-9223372036854775808"), INT64_MIN);
  EXPECT_EQ(parse_whole_number("9223372036854775807"), INT64_MAX);
  for (const char* bad :
       {"", "-", "+", "0x", "12abc", " 1", "1 ", "1.0", "9223372036854775808", "0o8", "0xg", "1e3"})
    EXPECT_EQ(parse_whole_number(bad), std::nullopt) << bad;
}

}  // namespace
}  // namespace sleet
