// Text encodings of a tuple shared by the sinks: tsv (values joined by tabs) and jsonl (one JSON
// object per tuple, keys from the tuple's field names). Pure functions, any thread.
//
// Both are lossless for every byte value (docs/topology-file.md, "Output formats"):
// - tsv: inside string and bytes values, tab, newline, carriage return and backslash are written
//   as the two characters \t \n \r \\ (tsv_escape); tsv_unescape reverses it, and `sleet run
//   --input` reads its lines with it. Numbers and booleans never need escapes.
// - jsonl: every line is valid JSON (RFC 8259). A string value is a JSON string: well-formed
//   UTF-8 is written as it is, quote, backslash and control characters (and DEL) are escaped,
//   and each byte b that is not part of well-formed UTF-8 is written as the lone surrogate escape
//   \udcXX (U+DC00 + b, Python's "surrogateescape", PEP 383: `s.encode("utf-8",
//   "surrogateescape")` gives the bytes back). A bytes value is a JSON string holding its
//   standard base64 (RFC 4648, with padding).
#pragma once

#include <string>
#include <string_view>

#include <sleet/status.hpp>
#include <sleet/tuple.hpp>

namespace sleet {

enum class RecordFormat { tsv, jsonl };
Result<RecordFormat> parse_format(const std::string& name);
// Appends the encoding of `t` (without a trailing newline) to `out`.
void encode_record(RecordFormat f, const Tuple& t, std::string& out);

// tsv into raw memory, for sinks that keep their own buffer (the per-tuple hot path: no
// capacity check per value). write_tsv writes at most tsv_bound(t) bytes at `out` and returns
// the end of what it wrote.
size_t tsv_bound(const Tuple& t);
char* write_tsv(const Tuple& t, char* out);

// Appends `s` as a quoted JSON string (escapes quotes, backslashes and control characters;
// bytes outside well-formed UTF-8 as \udcXX, see above).
void json_string(std::string_view s, std::string& out);
// Appends the standard base64 of `s` (RFC 4648 alphabet, `=` padding).
void base64(std::string_view s, std::string& out);
// The tsv escapes of a value (see above): appends `s` with \t \n \r \\ for tab, newline, CR and
// backslash. tsv_unescape reverses it; a backslash before any other character, or at the end,
// is kept as it is.
void tsv_escape(std::string_view s, std::string& out);
std::string tsv_unescape(std::string_view s);

}  // namespace sleet
