// Records whole (issue 14): KafkaSpout emits a record's headers (KafkaHeaders encoding) and the
// null-ness of key and value; KafkaSink writes headers from a field and keeps a null key null.
// kcat is the independent client on both ends: it produces the input (-K for keys, -Z for NULL
// keys and values, -H for headers) and reads the output (-f '%k %h', -Z prints NULL).
#include <gtest/gtest.h>

#include <sleet/kafka_headers.hpp>
#include <sleet/registry.hpp>

#include "tests/support/components.hpp"
#include "tests/support/kafka_fixture.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace sleet::test;
using namespace std::chrono_literals;

namespace {

template <class T>
std::unique_ptr<T> make(const std::string& cls, Args args) {
  return create_component<T>(cls, args);
}

void kcat_produce(const std::string& boot, const std::string& topic, std::vector<std::string> flags,
                  const std::string& input) {
  std::vector<std::string> argv = {"kcat", "-P", "-b", boot, "-t", topic, "-p", "0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto r = run_command(argv, 30s, {}, input);
  ASSERT_EQ(r.status, 0) << r.err;
}

std::vector<std::string> kcat_consume(const std::string& boot, const std::string& topic) {
  auto r = run_command({"kcat", "-C", "-b", boot, "-t", topic, "-e", "-q", "-o", "beginning", "-f",
                        "%K:%k|%h|%s\\n"},
                       30s);
  EXPECT_EQ(r.status, 0) << r.err;
  return split_lines(r.out);
}

struct NullCollector : Collector {
  void emit(Values&&) override {}
};

}  // namespace

TEST(KafkaHeadersEncoding, Table) {
  const std::vector<KafkaHeaders> cases = {
      KafkaHeaders{},
      KafkaHeaders{{"a", "1"}},
      KafkaHeaders{{"dup", "1"}, {"dup", "2"}, {"", ""}},
      KafkaHeaders{{"n", std::nullopt}, {std::string("b\0in", 4), std::string(300, '\xff')}},
  };
  for (const auto& h : cases) {
    auto d = KafkaHeaders::decode(h.encode());
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    EXPECT_EQ(*d, h);
  }
  EXPECT_EQ((KafkaHeaders{{"a", "xy"}}.encode().data), std::string("\0\0\0\1a\0\0\0\2xy", 11));
  EXPECT_EQ((KafkaHeaders{{"a", std::nullopt}}.encode().data),
            std::string("\0\0\0\1a\xff\xff\xff\xff", 9));
  for (std::string bad : {std::string("\0\0\0", 3), std::string("\0\0\0\5ab", 6),
                          std::string("\0\0\0\1a\0\0", 7), std::string("\0\0\0\1a\0\0\0\3x", 10)})
    EXPECT_EQ(KafkaHeaders::decode(bad).status().code(), Code::invalid_argument);
  KafkaHeaders h({{"x", "1"}, {"x", "2"}});
  ASSERT_NE(h.find("x"), nullptr);
  EXPECT_EQ(h.find("x")->value, "1");
  EXPECT_EQ(h.find("y"), nullptr);
}

TEST(KafkaHeadersKcat, SpoutEmitsHeadersAndNullsSinkWritesThemBack) {
  auto kafka = start_kafka({{"hin", 1}, {"hout", 1}, {"hrec", 1}});
  const std::string boot = kafka->bootstrap();
  // offset 0: key k1, headers trace=abc, dup=1, dup=2 (in that order), one header with an empty
  // value. kcat -H takes name=value; every message of the run gets them.
  kcat_produce(boot, "hin", {"-K", ":", "-H", "trace=abc", "-H", "dup=1", "-H", "dup=2"},
               "k1:v1\n");
  // offsets 1, 2: -Z makes an empty key or value NULL.
  kcat_produce(boot, "hin", {"-K", ":", "-Z"}, ":v2\nk3:\n");
  // offset 3: an empty key that is not null.
  kcat_produce(boot, "hin", {"-K", ":"}, ":v4\n");

  auto spout = make<Spout>("KafkaSpout", {{"topic", "hin"}, {"bootstrap.servers", boot}});
  Context sctx = make_context("in", 0, 1, {});
  ASSERT_TRUE(spout->open(sctx).ok());
  VectorCollector got;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (got.tuples.size() < 4 && std::chrono::steady_clock::now() < deadline) {
    auto n = spout->next_batch(got);
    ASSERT_TRUE(n.ok()) << n.status().to_string();
    if (*n == 0) std::this_thread::sleep_for(2ms);  // polling a prefetch queue, bounded above
  }
  ASSERT_EQ(got.tuples.size(), 4u);
  const Fields fields = spout->output_fields();
  auto field = [&](const Values& v, const char* f) -> const Value& {
    return v.at(static_cast<size_t>(fields.index_of(f)));
  };
  const Values& r0 = got.tuples[0];
  EXPECT_EQ(std::get<std::string>(field(r0, "key")), "k1");
  auto h0 = KafkaHeaders::decode(std::get<Bytes>(field(r0, "headers")));
  ASSERT_TRUE(h0.ok()) << h0.status().to_string();
  EXPECT_EQ(*h0, (KafkaHeaders{{"trace", "abc"}, {"dup", "1"}, {"dup", "2"}}));
  EXPECT_FALSE(std::get<bool>(field(r0, "key_null")));
  EXPECT_FALSE(std::get<bool>(field(r0, "value_null")));

  const Values& r1 = got.tuples[1];
  EXPECT_EQ(std::get<std::string>(field(r1, "key")), "") << "a null key reads as \"\" ...";
  EXPECT_TRUE(std::get<bool>(field(r1, "key_null"))) << "... and says it is null";
  EXPECT_EQ(std::get<Bytes>(field(r1, "headers")).data, "");
  const Values& r2 = got.tuples[2];
  EXPECT_EQ(std::get<std::string>(field(r2, "key")), "k3");
  EXPECT_FALSE(std::get<bool>(field(r2, "key_null")));
  EXPECT_TRUE(std::get<bool>(field(r2, "value_null")));
  const Values& r3 = got.tuples[3];
  EXPECT_EQ(std::get<std::string>(field(r3, "key")), "");
  EXPECT_FALSE(std::get<bool>(field(r3, "key_null"))) << "an empty key is not a null key";
  spout->close();

  // The tuples into two sinks: tsv with key.field and headers_field, and format: record.
  for (const auto& [topic, args] : std::vector<std::pair<std::string, Args>>{
           {"hout", Args{{"topic", "hout"},
                         {"delivery", "at_least_once"},
                         {"key.field", "key"},
                         {"headers_field", "headers"}}},
           {"hrec",
            Args{{"topic", "hrec"}, {"delivery", "at_least_once"}, {"format", "record"}}}}) {
    auto sink = make<Bolt>("KafkaSink", args);
    Context ctx = make_context(topic, 0, 1, {{"kafka.bootstrap.servers", boot}});
    ctx.checkpointing = false;
    ASSERT_TRUE(sink->open(ctx).ok());
    NullCollector null;
    for (const auto& v : got.tuples) sink->execute(Tuple(&fields, v), null);
    ASSERT_TRUE(sink->on_barrier(CheckpointId{1}, null).ok());
    sink->close();
  }
  auto out = kcat_consume(boot, "hout");
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].substr(0, out[0].find('|', 6) + 1), "2:k1|trace=abc,dup=1,dup=2|") << out[0];
  EXPECT_EQ(out[1].substr(0, 5), "-1:||") << "a null key stays null: " << out[1];
  EXPECT_EQ(out[2].substr(0, 6), "2:k3||") << out[2];
  EXPECT_EQ(out[3].substr(0, 4), "0:||") << "an empty key stays empty, not null: " << out[3];

  auto rec = kcat_consume(boot, "hrec");
  ASSERT_EQ(rec.size(), 4u);
  EXPECT_EQ(rec[0].rfind("2:k1|partition=0,offset=0,timestamp=", 0), 0u) << rec[0];
  EXPECT_NE(rec[0].find(",trace=abc,dup=1,dup=2|v1"), std::string::npos)
      << "the record's own headers, decoded, in order: " << rec[0];
  EXPECT_EQ(rec[1].rfind("-1:|partition=0,offset=1,", 0), 0u) << rec[1];
  EXPECT_EQ(rec[3].rfind("0:|partition=0,offset=3,", 0), 0u)
      << "key_null false keeps an empty key: " << rec[3];
}
