// Text encodings of a tuple shared by the sinks: tsv (values joined by tabs) and jsonl (one JSON
// object per tuple, keys from the tuple's field names). Pure functions, any thread.
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

// Appends `s` as a quoted JSON string (escapes quotes, backslashes and control characters).
void json_string(std::string_view s, std::string& out);

}  // namespace sleet
