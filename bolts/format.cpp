#include "bolts/format.hpp"

#include <cstdio>

namespace sleet {

Result<RecordFormat> parse_format(const std::string& name) {
  if (name == "tsv") return RecordFormat::tsv;
  if (name == "jsonl") return RecordFormat::jsonl;
  return Status::Invalid("unknown format '" + name + "' (use tsv or jsonl)");
}

namespace {
void json_string(std::string_view s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}
}  // namespace

void encode_record(RecordFormat f, const Tuple& t, std::string& out) {
  const auto& vs = t.values();
  if (f == RecordFormat::tsv) {
    for (size_t i = 0; i < vs.size(); ++i) {
      if (i) out += '\t';
      append_text(vs[i], out);
    }
    return;
  }
  out += '{';
  for (size_t i = 0; i < vs.size(); ++i) {
    if (i) out += ',';
    const Fields* fs = t.fields();
    json_string(fs && i < fs->size() ? fs->names()[i] : "f" + std::to_string(i), out);
    out += ':';
    switch (type_of(vs[i])) {
      case ValueType::string:
      case ValueType::bytes:
        json_string(to_text(vs[i]), out);
        break;
      default:
        out += to_text(vs[i]);
    }
  }
  out += '}';
}

}  // namespace sleet
