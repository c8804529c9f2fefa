// The transport's wire format and credit accounting (cluster/frame_codec.hpp,
// cluster/transport_credits.hpp): pure table tests, no sockets.
#include "cluster/frame_codec.hpp"
#include "cluster/transport_credits.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <random>

namespace sleet::cluster {
namespace {

const Fields kFields{"word", "count"};

std::vector<FrameView> decode_all(FrameDecoder& d, Status* error = nullptr) {
  std::vector<FrameView> out;
  while (true) {
    auto r = d.next();
    if (!r.ok()) {
      if (error) *error = r.status();
      return out;
    }
    if (!*r) return out;
    out.push_back(**r);
  }
}

Frame decode_one(const std::string& bytes, const Fields* fields = nullptr) {
  FrameDecoder d;
  d.feed(bytes);
  Status err;
  auto views = decode_all(d, &err);
  EXPECT_TRUE(err.ok()) << err.to_string();
  EXPECT_EQ(views.size(), 1u);
  EXPECT_EQ(d.buffered(), 0u);
  FieldsResolver resolve = [&](uint32_t) { return fields; };
  auto f = decode_frame(views.at(0), &resolve);
  EXPECT_TRUE(f.ok()) << f.status().to_string();
  return std::move(f).value();
}

std::vector<Tuple> round_trip_tuples(const std::vector<Tuple>& in) {
  std::string bytes;
  encode_data(bytes, Generation{7}, 3, in);
  Frame f = decode_one(bytes, &kFields);
  auto& d = std::get<DataFrame>(f);
  EXPECT_EQ(d.generation, Generation{7});
  EXPECT_EQ(d.channel, 3u);
  for (const Tuple& t : d.tuples) EXPECT_EQ(t.fields(), &kFields);
  return std::move(d.tuples);
}

TEST(FrameCodec, EveryValueTypeAndEdgeValuesRoundTrip) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<Value> values = {
      Value(int64_t{0}),
      Value(int64_t{1}),
      Value(int64_t{-1}),
      Value(int64_t{63}),
      Value(int64_t{64}),
      Value(int64_t{-64}),
      Value(int64_t{-65}),
      Value(std::numeric_limits<int64_t>::max()),
      Value(std::numeric_limits<int64_t>::min()),
      Value(0.0),
      Value(-0.0),
      Value(3.5),
      Value(std::numeric_limits<double>::infinity()),
      Value(-std::numeric_limits<double>::infinity()),
      Value(std::numeric_limits<double>::denorm_min()),
      Value(std::string()),
      Value(std::string("hello")),
      Value(std::string(300, 'x')),
      Value(std::string("a\0b", 3)),
      Value(Bytes{}),
      Value(Bytes{std::string("\xff\x00\x01", 3)}),
      Value(true),
      Value(false),
  };
  for (const Value& v : values) {
    SCOPED_TRACE(to_text(v));
    auto out = round_trip_tuples({Tuple(&kFields, Values{v})});
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].size(), 1u);
    EXPECT_EQ(type_of(out[0].at(0)), type_of(v));
    if (auto* d = std::get_if<double>(&v)) {
      EXPECT_EQ(std::signbit(*d), std::signbit(std::get<double>(out[0].at(0))));
    }
    EXPECT_EQ(out[0].at(0), v);
  }
  // NaN: bit pattern kept.
  auto out = round_trip_tuples({Tuple(&kFields, Values{Value(nan)})});
  EXPECT_TRUE(std::isnan(std::get<double>(out.at(0).at(0))));
  // Empty batch, empty tuple, a tuple of many values (beyond the inline four), all types mixed.
  EXPECT_TRUE(round_trip_tuples({}).empty());
  out = round_trip_tuples({Tuple(&kFields, Values{})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].size(), 0u);
  Values many;
  for (size_t i = 0; i < values.size(); ++i) many.push_back(values[i]);
  out = round_trip_tuples({Tuple(&kFields, many), Tuple(&kFields, Values{Value(int64_t{5})})});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].values(), many);
  EXPECT_EQ(out[1].at(0), Value(int64_t{5}));
}

ControlMessage sample_ack() {
  ControlMessage m;
  m.kind = ControlMessage::Kind::ack;
  m.id = CheckpointId{42};
  m.snapshot.component = "count";
  m.snapshot.task = TaskIndex{3};
  m.snapshot.id = CheckpointId{42};
  m.snapshot.stateful = true;
  m.snapshot.state_version = 2;
  m.snapshot.handle = {BlobHandle::Kind::file, "42/g7/count-3.snap", 1234, 0xdeadbeef};
  m.snapshot.error = Status::IoError("disk full");
  m.snapshot.positions = {{"words", PartitionId{0}, Offset{17}, "c1"},
                          {"words", PartitionId{5}, Offset{-1}, ""}};
  m.snapshot.source = true;
  m.snapshot.drained = true;
  // Issue 15: the keyed-state chains of the ack cross the transport too.
  m.snapshot.links = {
      {"counts",
       CheckpointId{40},
       true,
       1000,
       {BlobHandle::Kind::file, "40/g7/c@counts.snap", 9, 1}},
      {"counts", CheckpointId{42}, false, 3, {BlobHandle::Kind::inline_znode, "/b/42/g7/c", 5, 2}}};
  // Protocol 3: the spout's largest event time per partition, checkpointed with its positions.
  m.snapshot.event_times = {{"words", PartitionId{0}, 1'700'000'000'123},
                            {"words", PartitionId{5}, -7}};
  return m;
}

void expect_same(const ControlMessage& a, const ControlMessage& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.snapshot.component, b.snapshot.component);
  EXPECT_EQ(a.snapshot.task, b.snapshot.task);
  EXPECT_EQ(a.snapshot.id, b.snapshot.id);
  EXPECT_EQ(a.snapshot.stateful, b.snapshot.stateful);
  EXPECT_EQ(a.snapshot.state_version, b.snapshot.state_version);
  EXPECT_EQ(a.snapshot.handle, b.snapshot.handle);
  EXPECT_EQ(a.snapshot.error.code(), b.snapshot.error.code());
  EXPECT_EQ(a.snapshot.error.message(), b.snapshot.error.message());
  EXPECT_EQ(a.snapshot.positions, b.snapshot.positions);
  EXPECT_EQ(a.snapshot.source, b.snapshot.source);
  EXPECT_EQ(a.snapshot.drained, b.snapshot.drained);
  EXPECT_EQ(a.snapshot.links, b.snapshot.links);
  EXPECT_EQ(a.snapshot.event_times, b.snapshot.event_times);
}

// Every frame type, one or more samples each.
std::vector<Frame> sample_frames() {
  std::vector<Frame> out;
  out.push_back(Hello{kProtocolVersion, "wordcount", Generation{7}, "w-1", 1});
  out.push_back(Hello{kProtocolVersion, "", Generation{-3}, "", 0});
  out.push_back(HelloReply{HelloResult::ok, "", Generation{7}, "w-0"});
  out.push_back(HelloReply{HelloResult::older_generation, "at generation 8", Generation{8}, "w-0"});
  DataFrame d;
  d.generation = Generation{7};
  d.channel = 300;
  d.tuples.emplace_back(&kFields, Values{Value(std::string("the")), Value(int64_t{3})});
  out.push_back(std::move(d));
  DataFrame named;  // a named stream of upstream task 12
  named.generation = Generation{7};
  named.channel = 4;
  named.source_task = TaskIndex{12};
  named.stream = "errors";
  named.tuples.emplace_back(&kFields, Values{Value(std::string("x")), Value(int64_t{-1})});
  out.push_back(std::move(named));
  out.push_back(BarrierFrame{Generation{7}, 5, CheckpointId{1LL << 40}});
  out.push_back(EndFrame{Generation{7}, UINT32_MAX});
  out.push_back(CreditFrame{Generation{7}, 0, 16});
  ControlMessage trigger;
  trigger.kind = ControlMessage::Kind::trigger;
  trigger.id = CheckpointId{9};
  out.push_back(ControlFrame{Generation{7}, trigger});
  out.push_back(ControlFrame{Generation{7}, sample_ack()});
  ControlMessage failure;
  failure.kind = ControlMessage::Kind::failure;
  failure.reason = "count[2] failed: boom";
  out.push_back(ControlFrame{Generation{7}, failure});
  out.push_back(HeartbeatFrame{Generation{std::numeric_limits<int32_t>::max()}});
  // Event time: a batch with timestamps is a data_ts frame (one tuple without a timestamp among
  // them keeps kNoTimestamp); watermarks, idle and negative ones included.
  DataFrame ts;
  ts.generation = Generation{7};
  ts.channel = 2;
  ts.tuples.emplace_back(&kFields, Values{Value(std::string("a")), Value(int64_t{1})});
  ts.tuples.back().set_timestamp(1700000000123);
  ts.tuples.emplace_back(&kFields, Values{Value(std::string("b")), Value(int64_t{2})});
  ts.tuples.emplace_back(&kFields, Values{Value(std::string("c")), Value(int64_t{3})});
  ts.tuples.back().set_timestamp(-5);
  out.push_back(std::move(ts));
  out.push_back(WatermarkFrame{Generation{7}, 3, 1700000000000});
  out.push_back(WatermarkFrame{Generation{7}, 0, kIdleWatermark});
  out.push_back(WatermarkFrame{Generation{1}, UINT32_MAX, -1});
  return out;
}

void expect_same(const Frame& a, const Frame& b) {
  ASSERT_EQ(a.index(), b.index());
  if (auto* x = std::get_if<Hello>(&a)) {
    EXPECT_EQ(*x, std::get<Hello>(b));
  }
  if (auto* x = std::get_if<HelloReply>(&a)) {
    EXPECT_EQ(*x, std::get<HelloReply>(b));
  }
  if (auto* x = std::get_if<DataFrame>(&a)) {
    auto& y = std::get<DataFrame>(b);
    EXPECT_EQ(x->generation, y.generation);
    EXPECT_EQ(x->channel, y.channel);
    EXPECT_EQ(x->source_task, y.source_task);
    EXPECT_EQ(x->stream, y.stream);
    ASSERT_EQ(x->tuples.size(), y.tuples.size());
    for (size_t i = 0; i < x->tuples.size(); ++i) {
      EXPECT_EQ(x->tuples[i].values(), y.tuples[i].values());
      EXPECT_EQ(x->tuples[i].timestamp(), y.tuples[i].timestamp());
    }
  }
  if (auto* x = std::get_if<WatermarkFrame>(&a)) {
    EXPECT_EQ(*x, std::get<WatermarkFrame>(b));
  }
  if (auto* x = std::get_if<BarrierFrame>(&a)) {
    EXPECT_EQ(*x, std::get<BarrierFrame>(b));
  }
  if (auto* x = std::get_if<EndFrame>(&a)) {
    EXPECT_EQ(*x, std::get<EndFrame>(b));
  }
  if (auto* x = std::get_if<CreditFrame>(&a)) {
    EXPECT_EQ(*x, std::get<CreditFrame>(b));
  }
  if (auto* x = std::get_if<ControlFrame>(&a)) {
    EXPECT_EQ(x->generation, std::get<ControlFrame>(b).generation);
    expect_same(x->message, std::get<ControlFrame>(b).message);
  }
  if (auto* x = std::get_if<HeartbeatFrame>(&a)) {
    EXPECT_EQ(*x, std::get<HeartbeatFrame>(b));
  }
}

TEST(FrameCodec, EveryFrameTypeRoundTrips) {
  for (const Frame& f : sample_frames()) {
    SCOPED_TRACE(frame_type_name(frame_type_of(f)));
    std::string bytes;
    encode_frame(bytes, f);
    Frame back = decode_one(bytes, &kFields);
    EXPECT_EQ(frame_type_of(back), frame_type_of(f));
    EXPECT_EQ(frame_generation(back), frame_generation(f));
    expect_same(f, back);
  }
}

TEST(FrameCodec, MessagesRoundTripThroughDecodeMessage) {
  std::vector<Message> in(3);
  in[0].kind = Message::Kind::data;
  in[0].tuples.emplace_back(&kFields, Values{Value(std::string("a")), Value(int64_t{1})});
  in[1].kind = Message::Kind::barrier;
  in[1].barrier = CheckpointId{12};
  in[2].kind = Message::Kind::end;
  std::string bytes;
  for (const Message& m : in) encode_message(bytes, Generation{2}, 4, m);
  FrameDecoder d;
  d.feed(bytes);
  auto views = decode_all(d);
  ASSERT_EQ(views.size(), 3u);
  FieldsResolver resolve = [](uint32_t c) { return c == 4 ? &kFields : nullptr; };
  for (size_t i = 0; i < 3; ++i) {
    Message m;
    Generation g;
    uint32_t ch = 0;
    ASSERT_TRUE(decode_message(views[i], &resolve, g, ch, m).ok());
    EXPECT_EQ(g, Generation{2});
    EXPECT_EQ(ch, 4u);
    EXPECT_EQ(m.kind, in[i].kind);
    EXPECT_EQ(m.barrier, in[i].barrier);
    ASSERT_EQ(m.tuples.size(), in[i].tuples.size());
    for (auto& t : m.tuples) EXPECT_EQ(t.fields(), &kFields);
  }
  Message m;
  Generation g;
  uint32_t ch = 0;
  std::string hb;
  encode_heartbeat(hb, Generation{1});
  FrameDecoder d2;
  d2.feed(hb);
  auto v = decode_all(d2);
  EXPECT_EQ(decode_message(v.at(0), nullptr, g, ch, m).code(), Code::corruption);
}

// A data frame names the upstream task and stream of its batch (taken from its tuples' source);
// a receiver bound to its channel's source rebinds the tuples to it, or refuses a batch whose
// origin is not the channel's (workers that planned different graphs).
TEST(FrameCodec, DataFramesCarryTheirSourceAndAreCheckedAgainstTheChannel) {
  const TupleSource sent{"split", TaskIndex{1}, "errors"};
  struct Row {
    const char* what;
    std::optional<TupleSource> bound;  // nullopt: no binding
    const char* refusal;               // nullptr: accepted
  };
  const std::vector<Row> rows = {
      {"no binding", std::nullopt, nullptr},
      {"same task and stream", TupleSource{"split", TaskIndex{1}, "errors"}, nullptr},
      {"another stream", TupleSource{"split", TaskIndex{1}, "ok"},
       "source: the batch comes from task 1 stream 'errors', but this worker's plan has task 1 "
       "of 'split' stream 'ok' on that channel"},
      {"another task", TupleSource{"split", TaskIndex{0}, "errors"},
       "plan has task 0 of 'split' stream 'errors'"},
  };
  std::vector<Tuple> batch;
  batch.emplace_back(&kFields, Values{Value(std::string("a")), Value(int64_t{1})}, &sent);
  batch.emplace_back(&kFields, Values{Value(std::string("b")), Value(int64_t{2})}, &sent);
  std::string bytes;
  encode_data(bytes, Generation{3}, 9, batch);
  for (const Row& row : rows) {
    SCOPED_TRACE(row.what);
    FrameDecoder d;
    d.feed(bytes);
    auto views = decode_all(d);
    ASSERT_EQ(views.size(), 1u);
    const TupleSource* bound = row.bound ? &*row.bound : nullptr;
    FieldsResolver resolve = [&](uint32_t) { return ChannelBinding{&kFields, bound}; };
    auto f = decode_frame(views[0], &resolve);
    Message m;
    Generation g;
    uint32_t ch = 0;
    Status st = decode_message(views[0], &resolve, g, ch, m);
    if (row.refusal) {
      ASSERT_FALSE(f.ok());
      EXPECT_EQ(f.status().code(), Code::corruption);
      EXPECT_NE(f.status().message().find(row.refusal), std::string::npos) << f.status().message();
      EXPECT_EQ(st.code(), Code::corruption);
      EXPECT_NE(st.message().find(row.refusal), std::string::npos) << st.message();
      continue;
    }
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    ASSERT_TRUE(st.ok()) << st.to_string();
    auto& df = std::get<DataFrame>(*f);
    EXPECT_EQ(df.source_task, TaskIndex{1});
    EXPECT_EQ(df.stream, "errors");
    ASSERT_EQ(m.tuples.size(), 2u);
    for (const auto* tuples : {&df.tuples, &m.tuples})
      for (const Tuple& t : *tuples) {
        EXPECT_EQ(t.fields(), &kFields);
        // Bound: the receiver's own record (a pointer, no strings per tuple); unbound: unknown.
        EXPECT_EQ(&t.source(), bound ? bound : &kUnknownTupleSource);
      }
  }
  // A batch without a source (tuples built outside the engine) says the default stream, task 0.
  std::string plain;
  encode_data(plain, Generation{3}, 9, std::vector<Tuple>{Tuple(&kFields, Values{})});
  Frame pf = decode_one(plain, &kFields);
  EXPECT_EQ(std::get<DataFrame>(pf).stream, "default");
  EXPECT_EQ(std::get<DataFrame>(pf).source_task, TaskIndex{0});
}

TEST(FrameCodec, ChunkedDecodingAtEverySplitPoint) {
  std::string stream;
  auto frames = sample_frames();
  for (const Frame& f : frames) encode_frame(stream, f);
  // Two chunks split at every point, and byte by byte.
  for (size_t split = 0; split <= stream.size(); ++split) {
    FrameDecoder d;
    std::vector<Frame> got;
    auto drain = [&] {
      for (const FrameView& v : decode_all(d)) {
        auto f = decode_frame(v, nullptr);
        ASSERT_TRUE(f.ok()) << f.status().to_string();
        got.push_back(std::move(f).value());
      }
    };
    d.feed(std::string_view(stream).substr(0, split));
    drain();
    auto tail = d.prepare(stream.size() - split + 3);
    std::memcpy(tail.data(), stream.data() + split, stream.size() - split);
    d.commit(stream.size() - split);
    drain();
    ASSERT_EQ(got.size(), frames.size()) << "split at " << split;
    for (size_t i = 0; i < got.size(); ++i) expect_same(frames[i], got[i]);
    EXPECT_EQ(d.buffered(), 0u);
  }
  FrameDecoder d;
  size_t n = 0;
  for (char c : stream) {
    d.feed(std::string_view(&c, 1));
    n += decode_all(d).size();
  }
  EXPECT_EQ(n, frames.size());
}

TEST(FrameCodec, TruncatedPayloadsAreRefusedNamingTheField) {
  // Every frame type: its payload cut at every length short of the whole is refused (the length
  // prefix patched to the cut, so the stream decoder hands the short payload to decode_frame).
  for (const Frame& f : sample_frames()) {
    std::string bytes;
    encode_frame(bytes, f);
    for (size_t cut = kFrameHeaderBytes; cut < bytes.size(); ++cut) {
      std::string shortened = bytes.substr(0, cut);
      uint32_t len = static_cast<uint32_t>(cut - 4);
      std::memcpy(shortened.data(), &len, 4);
      FrameDecoder d;
      d.feed(shortened);
      auto views = decode_all(d);
      ASSERT_EQ(views.size(), 1u);
      auto r = decode_frame(views[0], nullptr);
      ASSERT_FALSE(r.ok()) << frame_type_name(frame_type_of(f)) << " cut at " << cut;
      EXPECT_EQ(r.status().code(), Code::corruption);
      EXPECT_NE(r.status().message().find(frame_type_name(frame_type_of(f))), std::string::npos)
          << r.status().message();
    }
    // A stream cut short is not an error, only incomplete.
    FrameDecoder d;
    d.feed(std::string_view(bytes).substr(0, bytes.size() - 1));
    auto r = d.next();
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->has_value());
  }
}

struct Bad {
  const char* what;
  std::string bytes;
  const char* expect;  // in the message
};

std::string frame_of(FrameType t, std::string payload) {
  std::string out;
  uint32_t len = static_cast<uint32_t>(payload.size() + 1);
  out.append(reinterpret_cast<const char*>(&len), 4);
  out.push_back(static_cast<char>(t));
  return out + payload;
}

TEST(FrameCodec, MalformedInputIsRefused) {
  std::string hello;
  encode_hello(hello, Hello{kProtocolVersion, "t", Generation{1}, "w", 0});
  std::string trailing = frame_of(FrameType::heartbeat, std::string("\x02\x00", 2));
  const std::vector<Bad> stream_cases = {
      {"zero length", std::string(4, '\0') + "x", "length 0"},
      {"huge length", std::string("\xff\xff\xff\x7f\x03", 5), "exceeds the limit"},
      {"unknown type", frame_of(static_cast<FrameType>(0), ""), "unknown frame type 0"},
      {"unknown type 200", frame_of(static_cast<FrameType>(200), "abc"), "unknown frame type 200"},
  };
  for (const Bad& b : stream_cases) {
    SCOPED_TRACE(b.what);
    FrameDecoder d;
    d.feed(b.bytes);
    Status err;
    EXPECT_TRUE(decode_all(d, &err).empty());
    EXPECT_EQ(err.code(), Code::corruption);
    EXPECT_NE(err.message().find(b.expect), std::string::npos) << err.message();
    // Sticky: more input does not resynchronise.
    d.feed(hello);
    EXPECT_FALSE(d.next().ok());
  }
  const std::string bad_magic = [&] {
    std::string h = hello;
    h[kFrameHeaderBytes] = 'X';
    return h;
  }();
  std::string overlong = frame_of(FrameType::heartbeat, std::string(11, '\x80'));
  std::string big_gen = frame_of(FrameType::heartbeat, "\xff\xff\xff\xff\x7f");
  // data: gen 1, channel 0, source task 0, source stream "", 1 tuple of 1 value of type 9.
  std::string bad_type =
      frame_of(FrameType::data, std::string("\x02\x00\x00\x00\x01\x01\x09\x00", 8));
  std::string bad_bool =
      frame_of(FrameType::data, std::string("\x02\x00\x00\x00\x01\x01\x04\x02", 8));
  std::string long_str =
      frame_of(FrameType::data, std::string("\x02\x00\x00\x00\x01\x01\x02\x7f", 8));
  std::string many_tuples =
      frame_of(FrameType::data, std::string("\x02\x00\x00\x00\xff\xff\x03", 7));
  std::string many_values =
      frame_of(FrameType::data, std::string("\x02\x00\x00\x00\x01\xff\x03", 7));
  // data: the source stream's length runs past the end.
  std::string long_stream = frame_of(FrameType::data, std::string("\x02\x00\x00\x7f", 4));
  std::string zero_credit = frame_of(FrameType::credit, std::string("\x02\x00\x00", 3));
  std::string bad_result = frame_of(FrameType::hello_reply, std::string("\x09\x00\x02\x00", 4));
  std::string bad_control = [] {
    std::string c;
    encode_control(c, Generation{1}, sample_ack());
    c[kFrameHeaderBytes + 1] = 9;  // the message kind
    return c;
  }();
  std::string huge_string_control = [] {
    ControlMessage m;
    m.reason = "abc";
    std::string c;
    encode_control(c, Generation{1}, m);
    // kind (1) + id (8), then the reason's u64 length.
    uint64_t huge = uint64_t{1} << 40;
    std::memcpy(c.data() + kFrameHeaderBytes + 1 + 9, &huge, 8);
    return c;
  }();
  std::string short_control = [] {
    std::string c;
    encode_control(c, Generation{1}, sample_ack());
    uint32_t len = 10;
    std::memcpy(c.data(), &len, 4);
    return c.substr(0, 14);
  }();
  const std::vector<Bad> frame_cases = {
      {"bad magic", bad_magic, "not a Sleet handshake"},
      {"trailing bytes", trailing, "1 trailing bytes"},
      {"overlong varint", overlong, "overlong varint for generation"},
      {"generation out of range", big_gen, "generation"},
      {"unknown value type", bad_type, "value type byte 9 unknown"},
      {"bool not 0/1", bad_bool, "bool value byte 2"},
      {"string past the end", long_str, "string value length 127 exceeds"},
      {"tuple count past the end", many_tuples, "tuple count 65535 exceeds"},
      {"value count past the end", many_values, "value count"},
      {"source stream past the end", long_stream, "source stream"},
      {"zero credit", zero_credit, "a credit of 0"},
      {"unknown hello result", bad_result, "hello result 9 unknown"},
      {"unknown control kind", bad_control, "message kind 9 unknown"},
      {"control string length past the end", huge_string_control, "exceeds the"},
      {"control truncated", short_control, "corrupt control frame"},
  };
  for (const Bad& b : frame_cases) {
    SCOPED_TRACE(b.what);
    FrameDecoder d;
    d.feed(b.bytes);
    Status err;
    auto views = decode_all(d, &err);
    ASSERT_TRUE(err.ok()) << err.to_string();
    ASSERT_EQ(views.size(), 1u);
    auto r = decode_frame(views[0], nullptr);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::corruption);
    EXPECT_NE(r.status().message().find(b.expect), std::string::npos) << r.status().message();
  }
}

// The frame types a channel carries, with what each becomes; a batch without timestamps stays a
// plain data frame (the event-time layout costs nothing when unused).
TEST(FrameCodec, EventTimeFramesAsChannelMessages) {
  struct Row {
    const char* what;
    Message in;
    FrameType type;
  };
  auto data = [](std::vector<int64_t> stamps) {
    Message m;
    for (int64_t s : stamps) {
      m.tuples.emplace_back(&kFields, Values{Value(std::string("w")), Value(int64_t{1})});
      m.tuples.back().set_timestamp(s);
    }
    return m;
  };
  auto wm = [](int64_t w) {
    Message m;
    m.kind = Message::Kind::watermark;
    m.watermark = w;
    return m;
  };
  std::vector<Row> rows;
  rows.push_back({"no timestamps", data({kNoTimestamp, kNoTimestamp}), FrameType::data});
  rows.push_back({"one timestamp", data({kNoTimestamp, 42}), FrameType::data_ts});
  rows.push_back(
      {"extreme timestamps", data({INT64_MAX - 1, kNoTimestamp + 1, 0}), FrameType::data_ts});
  rows.push_back({"watermark", wm(1700000000000), FrameType::watermark});
  rows.push_back({"idle watermark", wm(kIdleWatermark), FrameType::watermark});
  rows.push_back({"no watermark yet", wm(kNoTimestamp), FrameType::watermark});
  FieldsResolver resolve = [](uint32_t) { return &kFields; };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.what);
    std::string bytes;
    encode_message(bytes, Generation{3}, 9, r.in);
    FrameDecoder d;
    d.feed(bytes);
    auto views = decode_all(d);
    ASSERT_EQ(views.size(), 1u);
    EXPECT_EQ(views[0].type, r.type);
    EXPECT_TRUE(is_channel_message(views[0].type));
    Message m;
    Generation g;
    uint32_t ch = 0;
    ASSERT_TRUE(decode_message(views[0], &resolve, g, ch, m).ok());
    EXPECT_EQ(ch, 9u);
    EXPECT_EQ(m.kind, r.in.kind);
    EXPECT_EQ(m.watermark, r.in.kind == Message::Kind::watermark ? r.in.watermark : 0);
    ASSERT_EQ(m.tuples.size(), r.in.tuples.size());
    for (size_t i = 0; i < m.tuples.size(); ++i)
      EXPECT_EQ(m.tuples[i].timestamp(), r.in.tuples[i].timestamp());
    Generation pg;
    uint32_t pch = 0;
    EXPECT_TRUE(peek_channel(views[0], pg, pch).ok());
    EXPECT_EQ(pch, 9u);
  }
  // A data_ts frame whose timestamp is cut off (a varint without its end) names the field.
  // (generation 1, channel 0, source task 0, stream "", one tuple, then the cut varint)
  std::string bad = frame_of(FrameType::data_ts, std::string("\x02\x00\x00\x00\x01\x80", 6));
  FrameDecoder d;
  d.feed(bad);
  auto views = decode_all(d);
  ASSERT_EQ(views.size(), 1u);
  auto r = decode_frame(views[0], nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("timestamp"), std::string::npos) << r.status().message();
  EXPECT_FALSE(is_channel_message(FrameType::credit));
}

TEST(FrameCodec, RandomGarbageNeverCrashes) {
  // Random bytes, and valid streams with random bytes flipped: every outcome is a frame or a
  // corruption Status (run under ASan/UBSan in the fuzz build to also catch overreads).
  std::mt19937_64 rng(12);
  std::string valid;
  for (const Frame& f : sample_frames()) encode_frame(valid, f);
  size_t refused = 0, decoded = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string bytes = valid;
    if (round % 2 == 0) {
      bytes.resize(rng() % 200);
      for (char& c : bytes) c = static_cast<char>(rng());
    } else {
      for (int k = 0; k < 3; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    FrameDecoder d(1 << 16);
    d.feed(bytes);
    Status err;
    for (const FrameView& v : decode_all(d, &err)) {
      auto f = decode_frame(v, nullptr);
      (f.ok() ? decoded : refused)++;
    }
    if (!err.ok()) ++refused;
  }
  EXPECT_GT(refused, 0u);
  EXPECT_GT(decoded, 0u);
}

TEST(FrameCodec, WordCountTuplesTakeAtMost16BytesOnTheWire) {
  // The goal: a 512-tuple batch of (word, count), words of about 6 characters, counts
  // as a running word count produces them.
  const char* words[] = {"stream", "kafkas", "sleety", "tuples", "bolt", "barrier", "words"};
  std::vector<Tuple> batch;
  for (int i = 0; i < 512; ++i)
    batch.emplace_back(&kFields,
                       Values{Value(std::string(words[i % 7])), Value(int64_t{1000 + 37 * i})});
  std::string bytes;
  encode_data(bytes, Generation{12}, 17, batch);
  double per_tuple = static_cast<double>(bytes.size()) / 512;
  EXPECT_LE(per_tuple, 16.0) << bytes.size() << " bytes for 512 tuples";
  RecordProperty("bytes_per_tuple", std::to_string(per_tuple));
  auto back = round_trip_tuples(batch);
  ASSERT_EQ(back.size(), 512u);
  for (size_t i = 0; i < 512; ++i) EXPECT_EQ(back[i].values(), batch[i].values());
}

TEST(FrameCodec, VarintSizes) {
  struct Row {
    uint64_t v;
    size_t size;
  };
  for (Row r :
       {Row{0, 1}, Row{127, 1}, Row{128, 2}, Row{16383, 2}, Row{16384, 3}, Row{UINT64_MAX, 10}})
    EXPECT_EQ(varint_size(r.v), r.size) << r.v;
}

TEST(SendCredits, ConsumeUntilEmptyThenWaitForGrants) {
  struct Step {
    char op;  // c: try_consume, g: grant(n)
    size_t n;
    bool ok;
    size_t available_after;
  };
  const std::vector<Step> steps = {
      {'c', 0, true, 2}, {'c', 0, true, 1},  {'c', 0, true, 0}, {'c', 0, false, 0},
      {'g', 1, true, 1}, {'c', 0, true, 0},  {'g', 2, true, 2}, {'g', 2, false, 2},
      {'g', 1, true, 3}, {'g', 1, false, 3}, {'c', 0, true, 2},
  };
  SendCredits c(3);
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    bool ok = s.op == 'c' ? c.try_consume() : c.grant(s.n).ok();
    EXPECT_EQ(ok, s.ok) << "step " << i;
    EXPECT_EQ(c.available(), s.available_after) << "step " << i;
  }
  Status over = SendCredits(1).grant(1);
  EXPECT_EQ(over.code(), Code::corruption);
  EXPECT_NE(over.message().find("returned 1 credits with only 0 spent"), std::string::npos);
}

TEST(ReceiveCredits, CountsPopsAndRefusesMessagesBeyondCapacity) {
  struct Step {
    char op;  // r: received, p: popped, t: take
    bool ok;
    uint32_t taken;
    size_t outstanding_after;
  };
  const std::vector<Step> steps = {
      {'r', true, 0, 1}, {'r', true, 0, 2}, {'r', false, 0, 2}, {'t', true, 0, 2},
      {'p', true, 0, 2}, {'t', true, 1, 1}, {'r', true, 0, 2},  {'p', true, 0, 2},
      {'p', true, 0, 2}, {'p', true, 0, 2}, {'t', true, 2, 0},  {'t', true, 0, 0},
  };
  ReceiveCredits c(2);
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    bool ok = true;
    uint32_t taken = 0;
    if (s.op == 'r') ok = c.received().ok();
    if (s.op == 'p') c.popped();
    if (s.op == 't') taken = c.take();
    EXPECT_EQ(ok, s.ok) << "step " << i;
    EXPECT_EQ(taken, s.taken) << "step " << i;
    EXPECT_EQ(c.outstanding(), s.outstanding_after) << "step " << i;
  }
}

}  // namespace
}  // namespace sleet::cluster
