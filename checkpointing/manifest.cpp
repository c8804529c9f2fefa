#include "checkpointing/manifest.hpp"

#include <charconv>
#include <cstdio>
#include <sstream>

namespace sleet {

const TaskSnapshot* Manifest::find_task(const std::string& component, int32_t task) const {
  for (const auto& t : tasks)
    if (t.component == component && t.task == task) return &t;
  return nullptr;
}

std::string InputStream::describe() const {
  std::string s = from + " -> " + grouping;
  if (!fields.empty()) {
    s += "(";
    for (size_t i = 0; i < fields.size(); ++i) s += (i ? "," : "") + fields[i];
    s += ")";
  }
  return s;
}

std::string StatefulShape::describe_inputs() const {
  std::string s = "[";
  for (size_t i = 0; i < inputs.size(); ++i) s += (i ? ", " : "") + inputs[i].describe();
  return s + "]";
}

std::string encode_manifest(const Manifest& m) {
  std::ostringstream os(std::ios::binary);
  {
    cereal::PortableBinaryOutputArchive ar(os);
    Manifest copy = m;
    copy.format_version = Manifest::kFormatVersion;  // always write the version we can read
    ar(copy);
  }
  return std::move(os).str();
}

Result<Manifest> decode_manifest(std::string_view bytes) {
  if (bytes.empty()) return Status::Corruption("empty checkpoint manifest");
  try {
    std::istringstream is(std::string(bytes), std::ios::binary);
    cereal::PortableBinaryInputArchive ar(is);
    Manifest m;
    ar(m);
    return m;
  } catch (const ManifestFormatError& e) {
    return Status::Incompatible("checkpoint manifest has format version " +
                                std::to_string(e.found) + "; this build reads versions " +
                                std::to_string(Manifest::kOldestReadableVersion) + " to " +
                                std::to_string(Manifest::kFormatVersion));
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("undecodable checkpoint manifest (") +
                              std::to_string(bytes.size()) + " bytes): " + e.what());
  }
}

std::string checkpoint_name(CheckpointId id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(id.value));
  return buf;
}

std::optional<CheckpointId> parse_checkpoint_name(std::string_view name) {
  if (name.size() != 20) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), v);
  if (ec != std::errc() || p != name.data() + name.size() || v < 0) return std::nullopt;
  return CheckpointId{v};
}

}  // namespace sleet
