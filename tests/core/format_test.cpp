// The tsv and jsonl encodings (core/format.hpp) are lossless for every byte value: table tests of
// the escapes, and round trips of all 256 byte values through encode_record and back (tsv with
// tsv_unescape, jsonl with the documented decoding rule, implemented here independently).
#include <gtest/gtest.h>

#include <string>

#include "cluster/input_loader.hpp"
#include "core/format.hpp"

using namespace sleet;

namespace {

std::string all_bytes() {
  std::string s;
  for (int b = 0; b < 256; ++b) s += static_cast<char>(b);
  return s;
}

std::string tsv_of(const Values& vs, const Fields* f = nullptr) {
  std::string out;
  encode_record(RecordFormat::tsv, Tuple(f, vs), out);
  return out;
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    parts.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return parts;
    start = tab + 1;
  }
}

// The decoding rule of docs/topology-file.md for one jsonl string (without its quotes): JSON
// escapes, and \udcXX (XX >= 80) for the byte XX. Written from the spec, not from the encoder.
std::string json_decode(const std::string& q) {
  std::string out;
  for (size_t i = 0; i < q.size(); ++i) {
    if (q[i] != '\\') {
      out += q[i];
      continue;
    }
    const char e = q.at(++i);
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case '/':
        out += '/';
        break;
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case 'u': {
        const unsigned v = std::stoul(q.substr(i + 1, 4), nullptr, 16);
        i += 4;
        if (v >= 0xDC80 && v <= 0xDCFF)
          out += static_cast<char>(v - 0xDC00);
        else if (v < 0x80)
          out += static_cast<char>(v);
        else
          ADD_FAILURE() << "unexpected escape \\u" << std::hex << v;
        break;
      }
      default:
        ADD_FAILURE() << "bad escape \\" << e;
    }
  }
  return out;
}

}  // namespace

TEST(TsvEscape, Table) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"plain", "plain"}, {"a\tb", "a\\tb"},  {"a\nb", "a\\nb"},
      {"a\rb", "a\\rb"},  {"a\\b", "a\\\\b"}, {"\\t", "\\\\t"},
      {"", ""},           {"\t\t", "\\t\\t"}, {std::string("\0x", 2), std::string("\0x", 2)},
      {"é\x01", "é\x01"},
  };
  for (const auto& c : cases) {
    std::string e;
    tsv_escape(c.in, e);
    EXPECT_EQ(e, c.out) << c.in;
    EXPECT_EQ(tsv_unescape(e), c.in) << c.in;
    EXPECT_EQ(tsv_of({c.in}), c.out) << "write_tsv escapes string values: " << c.in;
    EXPECT_EQ(tsv_of({Bytes{c.in}}), c.out) << "and bytes values: " << c.in;
  }
}

TEST(TsvEscape, UnescapeKeepsWhatIsNotAnEscape) {
  EXPECT_EQ(tsv_unescape("C:\\x"), "C:\\x");
  EXPECT_EQ(tsv_unescape("end\\"), "end\\");
  EXPECT_EQ(tsv_unescape("\\\\n"), "\\n");
  EXPECT_EQ(tsv_unescape("a\\tb\\nc\\rd\\\\e"), "a\tb\nc\rd\\e");
}

TEST(TsvEscape, EveryByteValueRoundTrips) {
  const std::string bytes = all_bytes();
  const Fields f{"a", "b", "n", "c"};
  const std::string line = tsv_of({bytes, Bytes{bytes}, int64_t{-7}, std::string("x")}, &f);
  EXPECT_EQ(line.find('\n'), std::string::npos) << "a tsv record stays on one line";
  EXPECT_EQ(line.find('\r'), std::string::npos);
  const auto parts = split_tabs(line);
  ASSERT_EQ(parts.size(), 4u) << "a tab inside a value is not a separator";
  EXPECT_EQ(tsv_unescape(parts[0]), bytes);
  EXPECT_EQ(tsv_unescape(parts[1]), bytes);
  EXPECT_EQ(parts[2], "-7");
  EXPECT_EQ(parts[3], "x");
  // tsv_bound covers the worst case (every byte escaped).
  const std::string worst(1000, '\t');
  EXPECT_EQ(tsv_of({worst, Bytes{worst}}).size(), 4001u);
}

TEST(InputLine, ReadsTheTsvEscapes) {
  struct Case {
    std::string line, key, value;
  } cases[] = {
      {"v", "", "v"},
      {"k\tv", "k", "v"},
      {"k\tv\tw", "k", "v\tw"},  // the value is the rest of the line, as before
      {"k\\tx\ta\\nb", "k\tx", "a\nb"},
      {"\\\\\t\\r", "\\", "\r"},
      {"\tv", "", "v"},
  };
  for (const auto& c : cases) {
    const auto l = cluster::split_input_line(c.line);
    EXPECT_EQ(l.key, c.key) << c.line;
    EXPECT_EQ(l.value, c.value) << c.line;
  }
  // What a tsv sink writes for (key, value) loads back as the same record.
  const std::string bytes = all_bytes();
  const auto l = cluster::split_input_line(tsv_of({std::string("k\t\n"), bytes}));
  EXPECT_EQ(l.key, "k\t\n");
  EXPECT_EQ(l.value, bytes);
}

TEST(JsonString, Table) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"plain", "\"plain\""},
      {"q\"b\\", "\"q\\\"b\\\\\""},
      {"\n\r\t", "\"\\n\\r\\t\""},
      {std::string("\0\x1f\x7f", 3), "\"\\u0000\\u001f\\u007f\""},
      {"é€😀", "\"é€😀\""},                                        // well-formed UTF-8 as it is
      {"\xff", "\"\\udcff\""},                                   // not UTF-8 at all
      {"\xc3", "\"\\udcc3\""},                                   // truncated sequence
      {"\xc3(", "\"\\udcc3(\""},                                 // bad continuation
      {"\xc0\xaf", "\"\\udcc0\\udcaf\""},                        // overlong '/'
      {"\xed\xa0\x80", "\"\\udced\\udca0\\udc80\""},             // an encoded surrogate
      {"\xf4\x90\x80\x80", "\"\\udcf4\\udc90\\udc80\\udc80\""},  // above U+10FFFF
      {"\x80", "\"\\udc80\""},                                   // lone continuation byte
  };
  for (const auto& c : cases) {
    std::string o;
    json_string(c.in, o);
    EXPECT_EQ(o, c.out);
    EXPECT_EQ(json_decode(o.substr(1, o.size() - 2)), c.in) << o;
  }
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
      {"\xff\xfe", "//4="},
  };
  for (const auto& [in, out] : cases) {
    std::string o;
    base64(in, o);
    EXPECT_EQ(o, out) << in;
  }
}

TEST(Jsonl, EveryByteValueRoundTrips) {
  const std::string bytes = all_bytes();
  const Fields f{"s", "b", "n"};
  std::string line;
  encode_record(RecordFormat::jsonl, Tuple(&f, Values{bytes, Bytes{"foobar"}, int64_t{3}}), line);
  for (unsigned char c : line) EXPECT_LT(c, 0x80) << "all bytes >= 0x80 here are invalid UTF-8";
  const std::string prefix = "{\"s\":\"";
  ASSERT_EQ(line.rfind(prefix, 0), 0u) << line;
  const auto end = line.find("\",\"b\":\"Zm9vYmFy\",\"n\":3}");
  ASSERT_NE(end, std::string::npos) << "bytes as base64: " << line;
  EXPECT_EQ(json_decode(line.substr(prefix.size(), end - prefix.size())), bytes);
}
