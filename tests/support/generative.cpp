#include "tests/support/generative.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>

namespace sleet::test::gen {

namespace {

// The draws must be the same everywhere a seed is rerun: std::mt19937_64 is specified exactly,
// the standard distributions are not, so ranges are taken by hand.
class Rng {
 public:
  explicit Rng(uint64_t seed) : r_(seed ^ 0x5eed5eed5eedull) {}
  int uni(int lo, int hi) {  // inclusive
    return lo + static_cast<int>(r_() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool chance(int one_in) { return r_() % static_cast<uint64_t>(one_in) == 0; }
  // k distinct members of `pool`, in pool order.
  std::vector<int> pick(std::vector<int> pool, int k) {
    for (size_t i = 0; i < pool.size(); ++i) std::swap(pool[i], pool[i + r_() % (pool.size() - i)]);
    pool.resize(std::min(pool.size(), static_cast<size_t>(k)));
    std::sort(pool.begin(), pool.end());
    return pool;
  }

 private:
  std::mt19937_64 r_;
};

std::vector<std::string> fields_of(Kind k) {
  switch (k) {
    case Kind::spout:
      return {"key", "value", "partition"};
    case Kind::tag:
      return {"id", "key", "path"};
    case Kind::count:
      return {"key", "count", "bolt"};
    case Kind::sink:
      break;
  }
  return {};
}

std::string quote(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

// For each component, the multiset of (spout, path) a record read by that spout reaches it by.
using Paths = std::map<std::pair<int, std::string>, int64_t>;

std::vector<Paths> paths_of(const Shape& shape) {
  std::vector<Paths> p(shape.components.size());
  for (size_t c = 0; c < shape.components.size(); ++c) {
    const Component& comp = shape.components[c];
    if (comp.kind == Kind::spout) {
      p[c][{static_cast<int>(c), ""}] = 1;
      continue;
    }
    if (comp.kind != Kind::tag) continue;  // only spouts and Tags pass records on
    for (int u : shape.inputs_of(static_cast<int>(c)))
      for (auto& [sp, m] : p[static_cast<size_t>(u)]) {
        std::string path = sp.second.empty() ? comp.id : sp.second + ">" + comp.id;
        p[c][{sp.first, path}] += m;
      }
  }
  return p;
}

}  // namespace

const char* grouping_name(Grouping g) {
  switch (g) {
    case Grouping::shuffle:
      return "shuffle";
    case Grouping::global:
      return "global";
    case Grouping::local_or_shuffle:
      return "local_or_shuffle";
    case Grouping::fields:
      return "fields";
  }
  return "?";
}

std::vector<int> Shape::inputs_of(int c) const {
  std::vector<int> in;
  for (auto& s : streams)
    if (s.to == c) in.push_back(s.from);
  return in;
}

int Shape::count(Kind k) const {
  return static_cast<int>(std::count_if(components.begin(), components.end(),
                                        [&](const Component& c) { return c.kind == k; }));
}

Shape draw(uint64_t seed, const Options& options) {
  Rng rng(seed);
  Shape s;
  s.seed = seed;
  const int spouts = rng.uni(1, 3);
  const int topics = options.shared_topics ? rng.uni(1, spouts) : spouts;
  for (int t = 0; t < topics; ++t) s.topics.push_back({"t" + std::to_string(t), rng.uni(1, 6)});
  auto add = [&](Kind k, const std::string& id) {
    s.components.push_back({id, k, rng.uni(1, 3), -1});
    return static_cast<int>(s.components.size()) - 1;
  };
  std::vector<int> record_sources;  // spouts and Tags: what a Tag or KeyedCount may read
  for (int i = 0; i < spouts; ++i) {
    int c = add(Kind::spout, "s" + std::to_string(i));
    // Every topic has a spout; the rest share one.
    s.components[static_cast<size_t>(c)].topic = i < topics ? i : rng.uni(0, topics - 1);
    record_sources.push_back(c);
  }
  auto connect = [&](int from, int to) {
    s.streams.push_back({from, to, Grouping::shuffle, "", 0});
  };
  const int layers = rng.uni(0, 2);
  int tags = 0;
  for (int l = 0; l < layers; ++l) {
    std::vector<int> layer;
    for (int n = rng.uni(1, 2); n > 0; --n) {
      int c = add(Kind::tag, "tag" + std::to_string(tags++));
      for (int u : rng.pick(record_sources, rng.uni(1, 2))) connect(u, c);
      layer.push_back(c);
    }
    record_sources.insert(record_sources.end(), layer.begin(), layer.end());
  }
  const int counts = rng.chance(5) ? 0 : rng.uni(1, 2);
  std::vector<int> everything = record_sources;
  for (int i = 0; i < counts; ++i) {
    int c = add(Kind::count, "count" + std::to_string(i));
    for (int u : rng.pick(record_sources, rng.uni(1, 3))) connect(u, c);
    everything.push_back(c);
  }
  const int sinks = rng.uni(2, 4);
  std::vector<int> sink_ids;
  for (int i = 0; i < sinks; ++i) {
    int c = add(Kind::sink, "sink" + std::to_string(i));
    for (int u : rng.pick(everything, rng.uni(1, 2))) connect(u, c);
    sink_ids.push_back(c);
  }
  // Nothing may lead nowhere (a spout without output is a warning, a Tag without one pointless).
  for (int c : everything) {
    bool out = std::any_of(s.streams.begin(), s.streams.end(),
                           [&](const Stream& st) { return st.from == c; });
    if (!out) connect(c, sink_ids[static_cast<size_t>(rng.uni(0, sinks - 1))]);
  }
  std::sort(s.streams.begin(), s.streams.end(), [](const Stream& a, const Stream& b) {
    return std::tie(a.to, a.from) < std::tie(b.to, b.from);
  });
  // Groupings. A KeyedCount needs every key in one task: all its inputs either hash on key or go
  // to task 0 (mixing the two would split a key).
  std::map<int, bool> count_global;
  for (Stream& st : s.streams) {
    const Component& to = s.components[static_cast<size_t>(st.to)];
    const Component& from = s.components[static_cast<size_t>(st.from)];
    if (to.kind == Kind::count) {
      auto it = count_global.find(st.to);
      if (it == count_global.end()) it = count_global.emplace(st.to, rng.chance(5)).first;
      st.grouping = it->second ? Grouping::global : Grouping::fields;
      if (!it->second) st.field = "key";
    } else {
      st.grouping = static_cast<Grouping>(rng.uni(0, 3));
      if (st.grouping == Grouping::fields) {
        auto f = fields_of(from.kind);
        st.field = f[static_cast<size_t>(rng.uni(0, static_cast<int>(f.size()) - 1))];
      }
    }
    st.form = st.grouping == Grouping::fields ? rng.uni(1, 2) : rng.uni(0, 2);
  }
  s.keys = rng.uni(2, 8);
  s.records_per_topic = rng.uni(options.min_records, options.max_records);
  s.threads = rng.uni(1, 3);
  s.chaining = !rng.chance(4);
  s.batch_size = std::array{1, 8, 64, 512}[static_cast<size_t>(rng.uni(0, 3))];
  s.channel_capacity = std::array{1, 2, 16}[static_cast<size_t>(rng.uni(0, 2))];
  // A barrier queues behind the tuples buffered before a slow Tag, so slow Tags only where
  // channels hold few tuples (else checkpoints would take seconds).
  const bool small_channels = s.batch_size * s.channel_capacity <= 128;
  // A slow Tag passes on its share of the input in kSlowFeedSeconds x (1.0 or 1.3): no faster than
  // the runner feeds it, so the spouts upstream lag ever more until the input stops.
  const std::vector<Paths> paths = paths_of(s);
  for (size_t c = 0; c < s.components.size(); ++c) {
    Component& comp = s.components[c];
    if (comp.kind != Kind::tag || !rng.chance(3) || !small_channels) continue;
    int64_t arrivals = 0;
    for (auto& [sp, m] : paths[c]) arrivals += m * s.records_per_topic;
    const double seconds = kSlowFeedSeconds * (rng.chance(2) ? 1.0 : 1.3);
    comp.slow_us = static_cast<int>(std::clamp(
        seconds * 1e6 * comp.parallelism / static_cast<double>(std::max<int64_t>(arrivals, 1)),
        100.0, 20000.0));
  }
  for (auto& c : s.components)
    if (c.kind == Kind::spout)
      c.max_batch = small_channels || rng.chance(2) ? 8 << rng.uni(0, 3) : 0;
  return s;
}

std::string Record::id() const {
  return "t" + std::to_string(topic) + ":" + std::to_string(seq);
}
std::string Record::key_text() const {
  return "k" + std::to_string(key);
}
std::string Record::value() const {
  return id() + " " + key_text();
}

std::vector<Record> draw_input(const Shape& shape) {
  Rng rng(shape.seed * 7919 + 17);
  std::vector<Record> out;
  for (size_t t = 0; t < shape.topics.size(); ++t) {
    int parts = shape.topics[t].partitions;
    // Sometimes the last partition stays empty: an idle partition must not stall checkpoints.
    int used = parts > 1 && rng.chance(3) ? parts - 1 : parts;
    for (int q = 0; q < shape.records_per_topic; ++q) {
      // Skewed keys: a hot key and rare ones.
      int k = std::min(rng.uni(0, shape.keys - 1), rng.uni(0, shape.keys - 1));
      out.push_back({static_cast<int>(t), q, k, rng.uni(0, used - 1)});
    }
  }
  return out;
}

std::string kafka_topic(const Shape& shape, const YamlParams& p, int topic) {
  return p.topic_prefix + "_" + shape.topics[static_cast<size_t>(topic)].label;
}

std::string to_yaml(const Shape& shape, const YamlParams& p) {
  std::ostringstream o;
  o << "# generated from seed " << shape.seed << "\n"
    << "name: " << p.name << "\n"
    << "config:\n"
    << "  checkpoint.interval.ms: " << p.checkpoint_interval_ms << "\n"
    << "  kafka.bootstrap.servers: " << quote(p.bootstrap) << "\n"
    << "  zookeeper.connect: " << quote(p.zookeeper) << "\n"
    << "  checkpoint.dir: " << quote(p.checkpoint_dir) << "\n"
    << "  worker.threads: " << shape.threads << "\n"
    << "  worker.chaining: " << (shape.chaining ? "true" : "false") << "\n"
    << "  worker.batch.size: " << shape.batch_size << "\n"
    << "  worker.channel.capacity: " << shape.channel_capacity << "\n"
    << "plugins:\n  - " << quote(p.plugin) << "\n"
    << "spouts:\n";
  for (auto& c : shape.components)
    if (c.kind == Kind::spout)
      o << "  - {id: " << c.id << ", class: KafkaSpout, parallelism: " << c.parallelism
        << ", args: {topic: " << quote(kafka_topic(shape, p, c.topic))
        << (c.max_batch ? ", max.batch: " + std::to_string(c.max_batch) : "") << "}}\n";
  o << "bolts:\n";
  for (auto& c : shape.components) {
    if (c.kind == Kind::spout) continue;
    o << "  - {id: " << c.id << ", class: ";
    if (c.kind == Kind::tag) o << "Tag";
    if (c.kind == Kind::count) o << "KeyedCount";
    if (c.kind == Kind::sink) o << "FileSink";
    o << ", parallelism: " << c.parallelism;
    if (c.slow_us) o << ", args: {slow.us: " << c.slow_us << "}";
    if (c.kind == Kind::sink)
      o << ", args: {path: " << quote(p.out_dir + "/" + c.id) << ", format: tsv}";
    o << "}\n";
  }
  o << "streams:\n";
  for (auto& st : shape.streams) {
    o << "  - {from: " << shape.components[static_cast<size_t>(st.from)].id
      << ", to: " << shape.components[static_cast<size_t>(st.to)].id << ", grouping: ";
    std::string g = grouping_name(st.grouping);
    if (st.form == 0) {
      o << g;
    } else if (st.form == 1) {
      o << "{type: " << g;
      if (st.grouping == Grouping::fields) o << ", fields: [" << st.field << "]";
      o << "}";
    } else {
      std::string up = g;
      for (char& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      o << "{type: " << up;
      if (st.grouping == Grouping::fields) o << ", args: [" << st.field << "]";
      o << "}";
    }
    o << "}\n";
  }
  return o.str();
}

std::string describe(const Shape& shape) {
  std::ostringstream o;
  o << "seed " << shape.seed << ": " << shape.records_per_topic << " records per topic, keys "
    << shape.keys << ", threads " << shape.threads << (shape.chaining ? ", chaining" : "")
    << ", batch " << shape.batch_size << ", channel capacity " << shape.channel_capacity << "\n";
  for (size_t c = 0; c < shape.components.size(); ++c) {
    const Component& comp = shape.components[c];
    o << "  " << comp.id << " x" << comp.parallelism;
    if (comp.slow_us) o << " slow " << comp.slow_us << "us";
    if (comp.max_batch) o << " max.batch " << comp.max_batch;
    if (comp.kind == Kind::spout)
      o << " reads " << shape.topics[static_cast<size_t>(comp.topic)].label << " ("
        << shape.topics[static_cast<size_t>(comp.topic)].partitions << " partitions)";
    for (auto& st : shape.streams)
      if (st.to == static_cast<int>(c))
        o << " <- " << shape.components[static_cast<size_t>(st.from)].id << " "
          << grouping_name(st.grouping) << (st.field.empty() ? "" : "[" + st.field + "]");
    o << "\n";
  }
  return o.str();
}

int64_t SinkRules::total_lines() const {
  int64_t n = 0;
  for (auto& [l, m] : lines) n += m;
  for (auto& [b, keys] : counts)
    for (auto& [k, t] : keys) n += t.updates;
  return n;
}

std::map<std::string, SinkRules> expectations(const Shape& shape,
                                              const std::vector<Record>& input) {
  std::vector<std::vector<const Record*>> by_topic(shape.topics.size());
  for (auto& r : input) by_topic[static_cast<size_t>(r.topic)].push_back(&r);
  const std::vector<Paths> paths = paths_of(shape);
  auto topic_of = [&](int spout) { return shape.components[static_cast<size_t>(spout)].topic; };
  std::map<std::string, SinkRules> out;
  for (size_t c = 0; c < shape.components.size(); ++c) {
    if (shape.components[c].kind != Kind::sink) continue;
    SinkRules& rules = out[shape.components[c].id];
    for (int u : shape.inputs_of(static_cast<int>(c))) {
      const Component& up = shape.components[static_cast<size_t>(u)];
      if (up.kind != Kind::count) {
        for (auto& [sp, m] : paths[static_cast<size_t>(u)])
          for (const Record* r : by_topic[static_cast<size_t>(topic_of(sp.first))])
            rules.lines[r->id() + "\t" + r->key_text() + "\t" + sp.second] += m;
        continue;
      }
      // A record of topic t arrives at the KeyedCount once per path from a spout on t.
      std::vector<int64_t> arrivals(shape.topics.size(), 0);
      for (int v : shape.inputs_of(u))
        for (auto& [sp, m] : paths[static_cast<size_t>(v)])
          arrivals[static_cast<size_t>(topic_of(sp.first))] += m;
      auto& keys = rules.counts[up.id];
      for (auto& r : input) {
        int64_t a = arrivals[static_cast<size_t>(r.topic)];
        if (a == 0) continue;
        auto& t = keys[r.key_text()];
        t.updates += a;
        t.sum += a * r.seq;
      }
    }
  }
  return out;
}

std::string check_sink(const SinkRules& rules, const std::vector<std::string>& lines) {
  std::map<std::string, int64_t> seen;
  std::map<std::string, std::map<std::string, std::vector<std::pair<int64_t, int64_t>>>> counts;
  std::ostringstream problems;
  int shown = 0;
  const int kShow = 8;
  auto problem = [&](const std::string& p) {
    if (shown++ < kShow) problems << "  " << p << "\n";
  };
  for (auto& l : lines) {
    if (l.empty()) continue;
    auto f = split(l, '\t');
    // Straight from a KafkaSpout: key, value, partition, offset, timestamp, then (the real spout;
    // the simulation writes the first five only) headers (none: empty), key_null, value_null.
    const bool spout_line =
        f.size() == 5 || (f.size() == 8 && f[5].empty() && f[6] == "false" && f[7] == "false");
    if (spout_line) {
      auto v = split(f[1], ' ');
      if (v.size() != 2 || v[1] != f[0]) {
        problem("malformed spout line '" + l + "'");
        continue;
      }
      ++seen[v[0] + "\t" + v[1] + "\t"];
    } else if (f.size() == 3) {  // from a Tag: id, key, path
      ++seen[l];
    } else if (f.size() == 4) {  // from a KeyedCount: key, count, bolt, sum
      counts[f[2]][f[0]].emplace_back(std::strtoll(f[1].c_str(), nullptr, 10),
                                      std::strtoll(f[3].c_str(), nullptr, 10));
    } else {
      problem("malformed line '" + l + "'");
    }
  }
  int64_t missing = 0, repeated = 0, unexpected = 0;
  for (auto& [l, want] : rules.lines) {
    auto it = seen.find(l);
    int64_t got = it == seen.end() ? 0 : it->second;
    if (got == want) continue;
    (got < want ? missing : repeated) += std::abs(want - got);
    problem("record line '" + l + "': expected " + std::to_string(want) + " time(s), seen " +
            std::to_string(got));
  }
  for (auto& [l, got] : seen)
    if (!rules.lines.count(l)) {
      unexpected += got;
      problem("unexpected record line '" + l + "' (" + std::to_string(got) + " time(s))");
    }
  int64_t bad_keys = 0;
  for (auto& [bolt, keys] : rules.counts) {
    for (auto& [key, want] : keys) {
      auto& v = counts[bolt][key];
      std::sort(v.begin(), v.end());
      std::vector<int64_t> got;
      for (auto& [c, s] : v) got.push_back(c);
      std::vector<int64_t> ideal(static_cast<size_t>(want.updates));
      std::iota(ideal.begin(), ideal.end(), 1);
      if (got != ideal) {
        ++bad_keys;
        std::set<int64_t> distinct(got.begin(), got.end());
        int64_t first_gap = 0, first_repeat = 0;
        for (int64_t i = 1; i <= want.updates && !first_gap; ++i)
          if (!distinct.count(i)) first_gap = i;
        for (size_t i = 1; i < got.size() && !first_repeat; ++i)
          if (got[i] == got[i - 1]) first_repeat = got[i];
        problem(bolt + " key " + key + ": expected counts 1.." + std::to_string(want.updates) +
                " once each, got " + std::to_string(got.size()) + " lines (" +
                std::to_string(distinct.size()) + " distinct, max " +
                std::to_string(got.empty() ? 0 : got.back()) + ", first gap " +
                std::to_string(first_gap) + ", first repeat " + std::to_string(first_repeat) + ")");
        continue;
      }
      if (!v.empty() && v.back().second != want.sum) {
        ++bad_keys;
        problem(bolt + " key " + key + ": final sum " + std::to_string(v.back().second) +
                ", expected " + std::to_string(want.sum));
      }
    }
  }
  for (auto& [bolt, keys] : counts)
    for (auto& [key, v] : keys)
      if (!v.empty() && (!rules.counts.count(bolt) || !rules.counts.at(bolt).count(key))) {
        ++bad_keys;
        problem("unexpected count lines of " + bolt + " key " + key);
      }
  if (shown == 0) return "";
  std::ostringstream o;
  o << missing << " record line(s) missing, " << repeated << " repeated, " << unexpected
    << " unexpected; " << bad_keys << " key(s) with wrong counts or sums (of "
    << rules.total_lines() << " expected lines)\n"
    << problems.str();
  if (shown > kShow) o << "  ... and " << (shown - kShow) << " more\n";
  return o.str();
}

std::map<std::string, std::vector<std::string>> simulate(const Shape& shape,
                                                         const std::vector<Record>& input) {
  std::map<std::string, std::vector<std::string>> out;
  std::map<std::string, std::map<std::string, std::pair<int64_t, int64_t>>> state;
  // Values by field name, as each component would emit them.
  using Tuple = std::map<std::string, std::string>;
  std::function<void(int, const Tuple&)> deliver = [&](int c, const Tuple& in) {
    const Component& comp = shape.components[static_cast<size_t>(c)];
    Tuple t;
    std::string line;
    switch (comp.kind) {
      case Kind::spout:
        t = in;
        break;
      case Kind::tag:
        if (in.count("path")) {
          t = {{"id", in.at("id")}, {"key", in.at("key")}, {"path", in.at("path") + ">" + comp.id}};
        } else {
          auto v = split(in.at("value"), ' ');
          t = {{"id", v[0]}, {"key", v[1]}, {"path", comp.id}};
        }
        break;
      case Kind::count: {
        std::string id = in.count("id") ? in.at("id") : split(in.at("value"), ' ')[0];
        auto& st = state[comp.id][in.at("key")];
        st.first += 1;
        st.second += std::strtoll(id.c_str() + id.find(':') + 1, nullptr, 10);
        t = {{"key", in.at("key")},
             {"count", std::to_string(st.first)},
             {"bolt", comp.id},
             {"sum", std::to_string(st.second)}};
        break;
      }
      case Kind::sink: {
        // FileSink tsv: the upstream's fields in declared order.
        if (in.count("value"))
          line = in.at("key") + "\t" + in.at("value") + "\t" + in.at("partition") + "\t0\t0";
        else if (in.count("path"))
          line = in.at("id") + "\t" + in.at("key") + "\t" + in.at("path");
        else
          line = in.at("key") + "\t" + in.at("count") + "\t" + in.at("bolt") + "\t" + in.at("sum");
        out[comp.id].push_back(line);
        return;
      }
    }
    for (auto& st : shape.streams)
      if (st.from == c) deliver(st.to, t);
  };
  for (auto& r : input)
    for (size_t c = 0; c < shape.components.size(); ++c)
      if (shape.components[c].kind == Kind::spout && shape.components[c].topic == r.topic)
        deliver(static_cast<int>(c), {{"key", r.key_text()},
                                      {"value", r.value()},
                                      {"partition", std::to_string(r.partition)}});
  for (auto& c : shape.components)
    if (c.kind == Kind::sink) out[c.id];  // a sink may have no lines
  return out;
}

}  // namespace sleet::test::gen
