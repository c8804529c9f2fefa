// jsonl output is valid JSON for every byte value, checked by an independent parser (Python's
// json module, strict about control characters), and the documented decoding (surrogateescape
// for strings, base64 for bytes) gives every byte back.
#include <gtest/gtest.h>

#include "core/format.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using sleet::test::run_command;
using namespace std::chrono_literals;

TEST(JsonlPython, EveryByteValueParsesAndDecodes) {
  std::string bytes;
  for (int b = 0; b < 256; ++b) bytes += static_cast<char>(b);
  const Fields f{"s", "b", "k\t\xff"};
  std::string lines;
  // All bytes in one value, each byte alone, and pairs of neighbours (sequence boundaries).
  encode_record(RecordFormat::jsonl, Tuple(&f, Values{bytes, Bytes{bytes}, true}), lines);
  lines += '\n';
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    encode_record(RecordFormat::jsonl, Tuple(&f, Values{one + "é" + one, Bytes{one}, false}),
                  lines);
    lines += '\n';
  }
  const char* script =
      "import sys, json, base64\n"
      "n = 0\n"
      "for line in sys.stdin.buffer.read().decode('utf-8').splitlines():\n"
      "    o = json.loads(line, strict=True)\n"
      "    s = o['s'].encode('utf-8', 'surrogateescape')\n"
      "    b = base64.b64decode(o['b'], validate=True)\n"
      "    k = list(o.keys())[2].encode('utf-8', 'surrogateescape')\n"
      "    assert k == b'k\\t\\xff', k\n"
      "    if n == 0:\n"
      "        assert s == bytes(range(256)) and b == bytes(range(256)), (s, b)\n"
      "    else:\n"
      "        one = bytes([n - 1])\n"
      "        assert s == one + 'é'.encode() + one and b == one, (n, s, b)\n"
      "    n += 1\n"
      "print(n)\n";
  auto r = run_command({"python3", "-c", script}, 30s, {}, lines);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "257\n");
}
