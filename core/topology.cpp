#include <sleet/topology.hpp>

#include <cstdio>

namespace sleet {

const char* grouping_name(GroupingType g) {
  switch (g) {
    case GroupingType::shuffle:
      return "shuffle";
    case GroupingType::fields:
      return "fields";
    case GroupingType::all:
      return "all";
    case GroupingType::global:
      return "global";
    case GroupingType::local_or_shuffle:
      return "local_or_shuffle";
    case GroupingType::direct:
      return "direct";
  }
  return "?";
}

const char* error_policy_name(ErrorPolicy p) {
  switch (p) {
    case ErrorPolicy::fail:
      return "fail";
    case ErrorPolicy::skip:
      return "skip";
    case ErrorPolicy::dead_letter:
      return "dead_letter";
  }
  return "?";
}

const ComponentSpec* TopologySpec::find(const std::string& id) const {
  for (auto& c : components)
    if (c.id == id) return &c;
  return nullptr;
}

std::string TopologySpec::config_or(const std::string& key, const std::string& def) const {
  auto it = config.find(key);
  return it == config.end() ? def : it->second;
}

std::string TopologySpec::fingerprint() const {
  // Only what decides how state maps to tasks: components, their classes and parallelism, and
  // the edges with their groupings. Config and args may change freely between runs.
  std::string s = "v1|" + name + "|";
  for (auto& c : components)
    s += c.id + ":" + c.class_name + ":" + std::to_string(c.parallelism) + ";";
  s += "|";
  for (auto& e : streams) {
    s += e.from + ">" + e.to + ":" + grouping_name(e.grouping.type);
    // Named streams only: a default-stream graph keeps the fingerprint it had before streams.
    if (e.stream != kDefaultStream) s += "@" + e.stream;
    for (auto& f : e.grouping.fields) s += "," + f;
    s += ";";
  }
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

TopologyBuilder& TopologyBuilder::add(ComponentKind kind, const std::string& id,
                                      const std::string& cls, int parallelism, Args args) {
  ComponentSpec c;
  c.id = id;
  c.class_name = cls;
  c.kind = kind;
  c.parallelism = parallelism;
  c.args = std::move(args);
  spec_.components.push_back(std::move(c));
  return *this;
}

TopologyBuilder& TopologyBuilder::on_error(ErrorPolicy p, std::string dead_letter_topic) {
  if (!spec_.components.empty()) {
    spec_.components.back().on_error = p;
    spec_.components.back().dead_letter_topic = std::move(dead_letter_topic);
  }
  return *this;
}

TopologyBuilder& TopologyBuilder::stream(const std::string& from, const std::string& to,
                                         Grouping g) {
  return named_stream(from, std::string(kDefaultStream), to, std::move(g));
}

TopologyBuilder& TopologyBuilder::named_stream(const std::string& from, const std::string& stream,
                                               const std::string& to, Grouping g) {
  StreamSpec s;
  s.from = from;
  s.to = to;
  s.grouping = std::move(g);
  s.stream = stream;
  spec_.streams.push_back(std::move(s));
  return *this;
}

}  // namespace sleet
