// Reading topology files: YAML -> TopologySpec, includes, substitution, overrides, plugins.
// Graph checks live in validate.cpp.
#include "topology_dsl/loader.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "topology_dsl/internal.hpp"
#include "topology_dsl/storm_compat.hpp"
#include "topology_dsl/text_util.hpp"
#include "topology_dsl/yaml_reader.hpp"

namespace sleet {

namespace fs = std::filesystem;

std::string Diagnostic::to_string() const {
  std::string s = loc.file.empty() ? "<topology>" : loc.file;
  if (loc.line > 0) s += ":" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
  return s + (error ? ": error: " : ": warning: ") + message;
}

namespace {

using dsl::Reader;

constexpr size_t kMaxFileBytes = size_t{16} << 20;
constexpr size_t kMaxIncludeDepth = 32;

std::vector<std::string> plus(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
// With the Flux keys Sleet reads and warns about (storm_compat.hpp) instead of refusing them.
const std::vector<std::string> kTopLevel = plus(
    {"name", "includes", "config", "plugins", "topics", "spouts", "bolts", "streams", "components"},
    dsl::flux_ignored_top_level_keys());
const std::vector<std::string> kComponentKeys =
    plus({"id", "class", "className", "parallelism", "parallelismHint", "args", "properties",
          "constructorArgs", "configMethods", "on_error", "dead_letter_topic"},
         dsl::flux_ignored_component_keys());

// Warns at each key of map `e` that storm_compat lists as read-but-ignored.
void warn_ignored_flux_keys(Reader& r, const YAML::Node& e, bool top_level) {
  for (auto it = e.begin(); it != e.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    auto note = top_level ? dsl::flux_ignored_top_level_key(it->first.Scalar())
                          : dsl::flux_ignored_component_key(it->first.Scalar());
    if (note) r.warn(it->first, *note);
  }
}
const std::vector<std::string> kStreamKeys = {"from", "to", "grouping", "name", "stream"};
const std::vector<std::string> kGroupingKeys = {"type", "fields", "args", "streamId",
                                                "customClass"};
const std::vector<std::string> kTopicKeys = {"name", "partitions", "input"};
const std::vector<std::string> kIncludeKeys = {"file", "resource", "override"};
const std::vector<std::string> kGroupings = {"shuffle", "fields", "all", "global",
                                             "local_or_shuffle"};

// Flux `constructorArgs` of one component: positional values, mapped onto the component's
// declared arguments once plugins are loaded and the class is known.
struct CtorArgs {
  size_t component = 0;
  std::vector<Arg> values;
  std::vector<SourceLocation> locs;
  SourceLocation loc;
};

// Everything one load_topology call accumulates over the main file and its includes.
struct LoadState {
  explicit LoadState(std::vector<Diagnostic>& d) : diags(d) {}
  std::vector<Diagnostic>& diags;
  size_t budget = 0;         // YAML nodes visited, all files together
  size_t reader_errors = 0;  // errors reported through a Reader, all files together
  bool too_large_reported = false;
  bool too_many_errors_reported = false;
  TopologySpec spec;
  std::vector<std::string> chain;          // include chain (canonical paths), main file first
  std::vector<std::string> chain_display;  // the same as written, for messages
  std::set<std::string> loaded;            // files read so far: each is merged once
  dsl::ExtraLocations locs;
  std::vector<CtorArgs> ctor_args;
  bool main_is_map = false;  // graph checks make sense only on a parsed main file

  void error(SourceLocation l, std::string m) { diags.push_back({std::move(l), std::move(m)}); }
};

Result<std::string> read_text(const fs::path& p) {
  std::error_code ec;
  auto st = fs::status(p, ec);
  if (ec || !fs::exists(st)) return Status::NotFound("does not exist");
  if (fs::is_directory(st)) return Status::Invalid("is a directory, not a topology file");
  // Devices and FIFOs (/dev/zero, /dev/stdin) could block or never end.
  if (!fs::is_regular_file(st)) return Status::Invalid("is not a regular file");
  std::ifstream in(p, std::ios::binary);
  if (!in) return Status::IoError(std::string("cannot be opened: ") + std::strerror(errno));
  std::string data;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > kMaxFileBytes)
      return Status::Invalid("is larger than 16 MiB, which no topology file is");
  }
  if (in.bad()) return Status::IoError("cannot be read");
  return data;
}

fs::path resolve(const fs::path& dir, const std::string& f) {
  fs::path p(f);
  return (p.is_absolute() ? p : dir / p).lexically_normal();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

const char* node_kind(const YAML::Node& n) {
  return n.IsMap() ? "map" : n.IsSequence() ? "list" : n.IsNull() ? "null" : "single value";
}

// yaml-cpp 0.7's LoadAll loops forever on a ',' outside a flow collection (",", "- a\n,"): its
// parser hands out empty documents without consuming the token (found by the fuzzer; corpus
// hang-yaml-loadall-*). So the stream is only walked here, two documents at most, with a check
// that each document moves past the last; the first one is then built with YAML::Load.
// Returns the mark of the token the parser is stuck on; sets `second` where a second document
// starts. Throws YAML::Exception on a syntax error, as Load does.
std::optional<YAML::Mark> scan_documents(const std::string& data,
                                         std::optional<YAML::Mark>& second) {
  struct FirstMark : YAML::EventHandler {
    std::optional<YAML::Mark> first;  // of the first node: the document's own start can repeat
    void node(const YAML::Mark& m) {
      if (!first) first = m;
    }
    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
    void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
    void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  const std::string&) override {
      node(m);
    }
    void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
      node(m);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {
      node(m);
    }
    void OnMapEnd() override {}
  };
  std::istringstream in(data);
  YAML::Parser parser(in);
  std::optional<YAML::Mark> previous;
  for (int doc = 0; doc < 2; ++doc) {
    FirstMark h;
    if (!parser.HandleNextDocument(h)) return std::nullopt;
    if (!h.first) return std::nullopt;
    if (previous && h.first->pos == previous->pos) return previous;  // no progress: stuck
    if (doc == 1) {
      if (h.first->pos >= 0 && static_cast<size_t>(h.first->pos) < data.size() &&
          data[static_cast<size_t>(h.first->pos)] == ',')
        return h.first;
      second = h.first;
    }
    previous = h.first;
  }
  return std::nullopt;
}

void load_file(const fs::path& path, const std::string* text, const SourceLocation* site,
               LoadState& st);

void parse_includes(Reader& r, const YAML::Node& inc, const fs::path& dir, LoadState& st) {
  if (!inc.IsSequence()) {
    r.error(inc, "includes must be a list of files, e.g. includes: [common.yaml]");
    return;
  }
  for (auto it = inc.begin(); it != inc.end(); ++it) {
    YAML::Node e = *it;
    r.tick(e);
    YAML::Node file_node = e;
    if (e.IsMap()) {  // Flux: {resource: false, file: "x.yaml", override: false}
      r.check_keys(e, kIncludeKeys, "an include");
      if (auto res = Reader::get(e, "resource")) {
        Arg a = r.value(*res);
        if (a.kind() == ArgKind::boolean && a.as_bool()) {
          r.error(*res,
                  "resource: true includes from the Java classpath, which Sleet does not have; "
                  "give a file path with resource: false");
          continue;
        }
      }
      auto f = Reader::get(e, "file");
      if (!f) {
        r.error(e, "an include needs file: PATH");
        continue;
      }
      file_node = *f;
    }
    auto f = r.text(file_node, "an include");
    if (!f) continue;
    if (f->empty()) {
      r.error(file_node, "an include needs a file path");
      continue;
    }
    SourceLocation site = r.loc(file_node);
    load_file(resolve(dir, *f), nullptr, &site, st);
  }
}

void parse_config(Reader& r, const YAML::Node& c, LoadState& st) {
  if (!c.IsMap()) {
    r.error(c, "config must be a map of key: value, not a " + std::string(node_kind(c)));
    return;
  }
  r.check_keys(c, {}, "");
  std::set<std::string> seen;  // a key given twice here is reported by check_keys; first wins
  for (auto it = c.begin(); it != c.end(); ++it) {
    if (!it->first.IsScalar() || !seen.insert(it->first.Scalar()).second) continue;
    const std::string& key = it->first.Scalar();
    const YAML::Node v = it->second;  // a copy: iterator proxies are temporaries
    if (!v.IsScalar() && !v.IsNull()) {
      r.error(v, "config value of '" + key + "' must be a string, number or boolean, not a " +
                     node_kind(v));
      continue;
    }
    auto text = r.text(v, "config value");
    if (!text) continue;
    st.spec.config[key] = *text;
    st.locs.config[key] = v.IsNull() ? r.loc(it->first) : r.loc(v);
  }
}

void parse_plugins(Reader& r, const YAML::Node& p, const fs::path& dir, LoadState& st) {
  if (!p.IsSequence()) {
    r.error(p, "plugins must be a list of shared library paths, e.g. plugins: [build/libmine.so]");
    return;
  }
  for (auto it = p.begin(); it != p.end(); ++it) {
    auto f = r.text(*it, "a plugin path");
    if (!f) continue;
    if (f->empty()) {
      r.error(*it, "empty plugin path (an unset variable with an empty default?)");
      continue;
    }
    st.spec.plugins.push_back(resolve(dir, *f).string());
    st.locs.map.plugins.push_back(r.loc(*it));
  }
}

void parse_topics(Reader& r, const YAML::Node& t, const fs::path& dir, LoadState& st) {
  if (!t.IsSequence()) {
    r.error(t, "topics must be a list of {name, partitions, input}");
    return;
  }
  for (auto it = t.begin(); it != t.end(); ++it) {
    const YAML::Node e = *it;  // a copy: iterator proxies are temporaries
    r.tick(e);
    if (!e.IsMap()) {
      r.error(e, "a topic is a map {name, partitions, input}");
      continue;
    }
    r.check_keys(e, kTopicKeys, "a topic");
    TopicSpec ts;
    ts.loc = r.loc(e);
    if (auto n = Reader::get(e, "name"))
      if (auto v = r.text(*n, "topic name")) ts.name = *v;
    if (ts.name.empty()) r.error(e, "a topic needs a name");
    if (auto n = Reader::get(e, "partitions")) {
      if (auto v = r.integer(*n, "partitions")) {
        if (*v < 1 || *v > 100'000)
          r.error(*n, "partitions must be between 1 and 100000, got " + std::to_string(*v));
        else
          ts.partitions = static_cast<int>(*v);
      }
    }
    if (auto n = Reader::get(e, "input"))
      if (auto v = r.text(*n, "input"); v && !v->empty()) ts.input_file = resolve(dir, *v).string();
    st.locs.topics.push_back(std::move(ts));
  }
}

// Flux `properties: [{name: x, value: y}]` become args.
void parse_properties(Reader& r, const YAML::Node& props, ComponentSpec& c,
                      ComponentLocations& cl) {
  if (!props.IsSequence()) {
    r.error(props, "properties must be a list of {name: ..., value: ...}");
    return;
  }
  for (auto it = props.begin(); it != props.end(); ++it) {
    const YAML::Node p = *it;  // a copy: iterator proxies are temporaries
    r.tick(p);
    if (!p.IsMap()) {
      r.error(p, "a property is a map {name: ..., value: ...}");
      continue;
    }
    r.check_keys(p, {"name", "value", "ref"}, "a property");
    auto name = Reader::get(p, "name");
    if (!name) {
      r.error(p, "a property needs a name");
      continue;
    }
    auto n = r.text(*name, "property name");
    if (!n || n->empty()) continue;
    if (auto ref = Reader::get(p, "ref")) {
      r.error(*ref, "ref: (a reference to a Flux component) is not supported; give the value");
      continue;
    }
    auto value = Reader::get(p, "value");
    if (!value) {
      r.error(p, "property '" + *n + "' needs a value");
      continue;
    }
    if (c.args.has(*n)) {
      r.error(*name, "argument '" + *n + "' is given twice");
      continue;
    }
    c.args.set(*n, r.value(*value));
    cl.args[*n] = r.loc(*name);
  }
}

void parse_component(Reader& r, const YAML::Node& e, ComponentKind kind, LoadState& st) {
  r.tick(e);
  const char* what = kind == ComponentKind::spout ? "a spout" : "a bolt";
  if (!e.IsMap()) {
    r.error(e,
            std::string(what) + " is a map {id, class, parallelism, args}, not a " + node_kind(e));
    return;
  }
  r.check_keys(e, kComponentKeys, what);
  warn_ignored_flux_keys(r, e, false);
  ComponentSpec c;
  ComponentLocations cl;
  c.kind = kind;
  c.loc = r.loc(e);
  if (auto id = Reader::get(e, "id"))
    if (auto v = r.text(*id, "id")) c.id = *v;
  auto cls = Reader::get(e, "class"), class_name = Reader::get(e, "className");
  if (cls && class_name) r.error(*class_name, "give class or className, not both");
  if (auto n = cls ? cls : class_name) {
    if (auto v = r.text(*n, "class"))
      c.class_name = *v;
    else
      st.locs.unreadable_class.insert(st.spec.components.size());
    cl.class_name = r.loc(*n);
  }
  auto par = Reader::get(e, "parallelism"), hint = Reader::get(e, "parallelismHint");
  if (par && hint) r.error(*hint, "give parallelism or parallelismHint, not both");
  if (auto n = par ? par : hint) {
    cl.parallelism = r.loc(*n);
    if (auto v = r.integer(*n, "parallelism")) {
      if (*v < INT_MIN || *v > INT_MAX)
        r.error(*n, "parallelism " + std::to_string(*v) + " is out of range (at most " +
                        std::to_string(dsl::kMaxParallelism) + ")");
      else
        c.parallelism = static_cast<int>(*v);
    }
  }
  if (auto a = Reader::get(e, "args"); a && !a->IsNull()) {
    if (!a->IsMap()) {
      r.error(*a, "args must be a map of name: value, not a " + std::string(node_kind(*a)));
    } else {
      r.check_keys(*a, {}, "");
      for (auto it = a->begin(); it != a->end(); ++it) {
        if (!it->first.IsScalar() || c.args.has(it->first.Scalar())) continue;  // reported
        c.args.set(it->first.Scalar(), r.value(it->second));
        cl.args[it->first.Scalar()] = r.loc(it->first);
      }
    }
  }
  if (auto p = Reader::get(e, "properties")) parse_properties(r, *p, c, cl);
  if (auto ca = Reader::get(e, "constructorArgs")) {
    if (!ca->IsSequence()) {
      r.error(*ca, "constructorArgs must be a list of values");
    } else {
      CtorArgs pending;
      pending.component = st.spec.components.size();
      pending.loc = r.loc(*ca);
      for (auto it = ca->begin(); it != ca->end(); ++it) {
        if (it->IsMap() && Reader::get(*it, "ref")) {
          r.error(*it, "ref: (a reference to a Flux component) is not supported; give the value");
          continue;
        }
        pending.values.push_back(r.value(*it));
        pending.locs.push_back(r.loc(*it));
      }
      st.ctor_args.push_back(std::move(pending));
    }
  }
  if (auto cm = Reader::get(e, "configMethods"))
    r.error(*cm, "configMethods (Java setter calls) are not supported; pass settings as args");
  if (auto oe = Reader::get(e, "on_error")) {
    if (auto p = r.text(*oe, "on_error")) {
      if (*p == "fail")
        c.on_error = ErrorPolicy::fail;
      else if (*p == "skip")
        c.on_error = ErrorPolicy::skip;
      else if (*p == "dead_letter")
        c.on_error = ErrorPolicy::dead_letter;
      else
        r.error(*oe, "on_error must be fail, skip or dead_letter, got '" + *p + "'" +
                         dsl::did_you_mean(*p, {"fail", "skip", "dead_letter"}));
    }
  }
  if (auto dl = Reader::get(e, "dead_letter_topic"))
    if (auto v = r.text(*dl, "dead_letter_topic")) c.dead_letter_topic = *v;
  st.spec.components.push_back(std::move(c));
  st.locs.map.components.push_back(std::move(cl));
}

// `stream` receives Flux's grouping streamId (and `stream_node` its node), if given.
void parse_grouping(Reader& r, const YAML::Node& g, Grouping& out, std::string& stream,
                    std::optional<YAML::Node>& stream_node) {
  auto set_type = [&](const YAML::Node& at, const std::string& word) {
    std::string t = lower(word);
    if (t == "shuffle" || t == "none")  // Flux NONE: "don't care", which Storm runs as shuffle
      out.type = GroupingType::shuffle;
    else if (t == "fields")
      out.type = GroupingType::fields;
    else if (t == "all")
      out.type = GroupingType::all;
    else if (t == "global")
      out.type = GroupingType::global;
    else if (t == "local_or_shuffle" || t == "localorshuffle")
      out.type = GroupingType::local_or_shuffle;
    else if (t == "direct")
      out.type = GroupingType::direct;
    else if (t == "custom")
      r.error(at,
              "custom groupings (Java classes) are not supported; use " + dsl::join(kGroupings));
    else
      r.error(at, "unknown grouping '" + word + "'" + dsl::did_you_mean(t, kGroupings) + "; use " +
                      dsl::join(kGroupings));
  };
  r.tick(g);
  if (g.IsNull()) return;  // shuffle
  if (g.IsScalar()) {
    if (auto t = r.text(g, "grouping")) set_type(g, *t);
    return;
  }
  if (!g.IsMap()) {
    r.error(g, "grouping must be a word (shuffle, fields, ...) or a map {type, fields}");
    return;
  }
  r.check_keys(g, kGroupingKeys, "a grouping");
  auto type = Reader::get(g, "type");
  if (!type) {
    r.error(g, "a grouping map needs type: (" + dsl::join(kGroupings) + ")");
  } else if (auto t = r.text(*type, "grouping type")) {
    set_type(*type, *t);
  }
  if (auto sid = Reader::get(g, "streamId")) {
    if (auto s = r.text(*sid, "streamId")) {
      stream = *s;
      stream_node = *sid;
    }
  }
  if (auto cc = Reader::get(g, "customClass"))
    r.error(*cc, "custom groupings (Java classes) are not supported");
  auto fields = Reader::get(g, "fields"), args = Reader::get(g, "args");
  if (fields && args) r.error(*args, "give fields or args (Flux), not both");
  if (auto f = fields ? fields : args) {
    if (f->IsScalar()) {
      if (auto v = r.text(*f, "field")) out.fields.push_back(*v);
    } else if (f->IsSequence()) {
      for (auto it = f->begin(); it != f->end(); ++it)
        if (auto v = r.text(*it, "a field name")) out.fields.push_back(*v);
    } else if (!f->IsNull()) {
      r.error(*f, "fields must be a list of field names, e.g. fields: [word]");
    }
  }
}

void parse_stream(Reader& r, const YAML::Node& e, LoadState& st) {
  r.tick(e);
  if (!e.IsMap()) {
    r.error(e, "a stream is a map {from, to, grouping}, not a " + std::string(node_kind(e)));
    return;
  }
  r.check_keys(e, kStreamKeys, "a stream");
  StreamSpec s;
  StreamLocations sl;
  s.loc = r.loc(e);
  if (auto n = Reader::get(e, "from")) {
    if (auto v = r.text(*n, "from")) s.from = *v;
    sl.from = r.loc(*n);
  }
  if (auto n = Reader::get(e, "to")) {
    if (auto v = r.text(*n, "to")) s.to = *v;
    sl.to = r.loc(*n);
  }
  sl.grouping = s.loc;
  std::string stream_id;  // Flux: grouping: {streamId: NAME}
  std::optional<YAML::Node> stream_id_node;
  if (auto g = Reader::get(e, "grouping")) {
    sl.grouping = r.loc(*g);
    parse_grouping(r, *g, s.grouping, stream_id, stream_id_node);
  }
  if (auto n = Reader::get(e, "stream")) {
    if (auto v = r.text(*n, "stream")) s.stream = *v;
    sl.stream = r.loc(*n);
    if (stream_id_node && stream_id != s.stream)
      r.error(*stream_id_node, "streamId '" + stream_id + "' contradicts stream: '" + s.stream +
                                   "' of the same stream; give one of them");
  } else if (stream_id_node) {
    s.stream = stream_id;
    sl.stream = r.loc(*stream_id_node);
  }
  st.spec.streams.push_back(std::move(s));
  st.locs.map.streams.push_back(std::move(sl));
}

void parse_root(Reader& r, const YAML::Node& root, const fs::path& dir, LoadState& st,
                bool is_main) {
  r.check_keys(root, kTopLevel, "the topology file");
  // Includes first, so that this file's own name and config win over theirs.
  if (auto inc = Reader::get(root, "includes")) parse_includes(r, *inc, dir, st);
  if (auto n = Reader::get(root, "name")) {
    auto v = r.text(*n, "name");
    if (v && (is_main || st.spec.name.empty())) {
      st.spec.name = *v;
      st.locs.name = r.loc(*n);
    }
  }
  if (auto c = Reader::get(root, "config")) parse_config(r, *c, st);
  if (auto p = Reader::get(root, "plugins")) parse_plugins(r, *p, dir, st);
  if (auto t = Reader::get(root, "topics")) parse_topics(r, *t, dir, st);
  if (auto c = Reader::get(root, "components"))
    r.warn(*c, "Flux 'components' (Java beans) are ignored by Sleet");
  warn_ignored_flux_keys(r, root, true);
  for (auto [key, kind] :
       {std::pair{"spouts", ComponentKind::spout}, std::pair{"bolts", ComponentKind::bolt}}) {
    auto list = Reader::get(root, key);
    if (!list || list->IsNull()) continue;
    if (!list->IsSequence()) {
      r.error(*list, std::string(key) + " must be a list of components (- id: ...)");
      continue;
    }
    for (auto it = list->begin(); it != list->end(); ++it) parse_component(r, *it, kind, st);
  }
  if (auto s = Reader::get(root, "streams"); s && !s->IsNull()) {
    if (!s->IsSequence()) {
      r.error(*s, "streams must be a list of {from, to, grouping}");
    } else {
      for (auto it = s->begin(); it != s->end(); ++it) parse_stream(r, *it, st);
    }
  }
}

void load_file(const fs::path& path, const std::string* text, const SourceLocation* site,
               LoadState& st) {
  const std::string file = path.string();
  const bool is_main = st.chain.empty();
  std::error_code ec;
  fs::path canon = fs::weakly_canonical(path, ec);
  const std::string key = ec ? path.lexically_normal().string() : canon.string();
  if (auto at = std::find(st.chain.begin(), st.chain.end(), key); at != st.chain.end()) {
    std::string cycle;
    for (auto i = static_cast<size_t>(at - st.chain.begin()); i < st.chain.size(); ++i)
      cycle += st.chain_display[i] + " -> ";
    st.error(*site, "include cycle: " + cycle + file);
    return;
  }
  if (st.loaded.count(key)) return;  // already merged (two files include a common one)
  if (st.chain.size() >= kMaxIncludeDepth) {
    st.error(*site, "includes nested more than " + std::to_string(kMaxIncludeDepth) + " deep");
    return;
  }
  std::string data;
  if (text) {
    data = *text;
    if (data.size() > kMaxFileBytes) {
      st.error({file, 0, 0}, "is larger than 16 MiB, which no topology file is");
      return;
    }
  } else if (auto r = read_text(path); r.ok()) {
    data = std::move(*r);
  } else if (site) {
    st.error(*site, "included file " + file + " " + r.status().message());
    return;
  } else {
    st.error({file, 0, 0}, "the topology file " + r.status().message());
    return;
  }
  st.loaded.insert(key);

  YAML::Node root;
  std::optional<YAML::Mark> second_doc;
  try {
    if (auto stuck = scan_documents(data, second_doc)) {
      st.error({file, stuck->line + 1, stuck->column + 1},
               "YAML syntax error: '" + std::string(1, data[static_cast<size_t>(stuck->pos)]) +
                   "' cannot start a value outside a flow collection ([...] or {...})");
      return;
    }
    root = YAML::Load(data);
  } catch (const YAML::Exception& e) {
    const bool has_mark = !e.mark.is_null() && e.mark.line >= 0;
    st.error({file, has_mark ? e.mark.line + 1 : 0, has_mark ? e.mark.column + 1 : 0},
             "YAML syntax error: " + e.msg);
    return;
  } catch (const std::exception& e) {
    st.error({file, 0, 0}, std::string("cannot parse the file: ") + e.what());
    return;
  }
  Reader r(file, st.diags, st.budget, st.reader_errors);
  if (second_doc)
    st.error({file, second_doc->line + 1, second_doc->column + 1},
             "a topology file holds one YAML document; a second one starts here");
  if (root.IsNull()) {
    if (is_main) st.error({file, 1, 1}, "the topology file is empty");
    return;
  }
  if (!root.IsMap()) {
    r.error(root, "a topology file is a map with keys " + dsl::join(kTopLevel) + ", not a " +
                      node_kind(root));
    return;
  }
  if (is_main) st.main_is_map = true;
  st.chain.push_back(key);
  st.chain_display.push_back(file);
  try {
    parse_root(r, root, path.parent_path(), st, is_main);
  } catch (const dsl::TooLarge& e) {
    if (!st.too_large_reported)
      st.error(e.loc, "the file expands to more than " + std::to_string(dsl::kMaxNodes) +
                          " YAML nodes (through aliases?); no topology is that large");
    st.too_large_reported = true;
  } catch (const dsl::TooManyErrors& e) {
    if (!st.too_many_errors_reported)
      st.error(e.loc, "more than " + std::to_string(dsl::kMaxErrors) +
                          " errors (aliases repeat a node's errors); stopping here");
    st.too_many_errors_reported = true;
  } catch (const YAML::Exception& e) {  // yaml-cpp surprises must not escape as crashes
    st.error({file, e.mark.line + 1, e.mark.column + 1}, "cannot read the YAML: " + e.msg);
  }
  st.chain.pop_back();
  st.chain_display.pop_back();
}

// A quick look before dlopen: a text file or an archive gives a clearer message than dlerror().
Status check_plugin_file(const std::string& path) {
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return Status::NotFound("plugin file '" + path + "' does not exist");
  if (!fs::is_regular_file(st)) return Status::Invalid("plugin '" + path + "' is not a file");
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  if (in.gcount() != 4 || std::memcmp(magic,
                                      "\x7f"
                                      "ELF",
                                      4) != 0)
    return Status::Invalid("'" + path +
                           "' is not a shared library, so not a Sleet plugin (build it as a "
                           "MODULE library with SLEET_PLUGIN; see docs/writing-bolts.md)");
  return Status::Ok();
}

// Storm classes with a Sleet equivalent (storm_compat.hpp) become that built-in, with a warning
// naming the alias; only when the name is not a registered class itself (a plugin may register
// it). Runs after plugins load and before constructorArgs map onto the class's arguments.
void apply_storm_aliases(LoadState& st, const Registry& reg) {
  for (size_t i = 0; i < st.spec.components.size(); ++i) {
    ComponentSpec& c = st.spec.components[i];
    if (c.class_name.empty() || reg.find(c.class_name)) continue;
    const dsl::StormAlias* a = dsl::find_storm_alias(c.class_name);
    if (!a || !reg.find(a->sleet)) continue;
    const SourceLocation at =
        st.locs.map.components[i].class_name.line ? st.locs.map.components[i].class_name : c.loc;
    st.diags.push_back({at,
                        "Storm class '" + c.class_name + "' runs as Sleet's " +
                            std::string(a->sleet) + " (Storm alias: " + std::string(a->note) +
                            "); write class: " + std::string(a->sleet) + " to silence this",
                        false});
    c.class_name = std::string(a->sleet);
  }
}

// Flux constructorArgs are positional: the i-th value is the component's i-th declared argument.
void map_constructor_args(LoadState& st, const Registry& reg) {
  for (auto& ca : st.ctor_args) {
    ComponentSpec& c = st.spec.components[ca.component];
    ComponentLocations& cl = st.locs.map.components[ca.component];
    const ComponentDescriptor* d = reg.find(c.class_name);
    if (!d) continue;  // the unknown class is reported by validation
    std::vector<std::string> names;
    for (auto& a : d->args) names.push_back(a.name);
    if (ca.values.size() > names.size()) {
      st.error(ca.loc, "constructorArgs has " + std::to_string(ca.values.size()) + " values, but " +
                           d->name + " takes " +
                           (names.empty() ? std::string("no arguments")
                                          : std::to_string(names.size()) +
                                                " (in this order: " + dsl::join(names) + ")"));
    }
    for (size_t i = 0; i < ca.values.size() && i < names.size(); ++i) {
      if (c.args.has(names[i])) {
        st.error(ca.locs[i], "argument '" + names[i] + "' is given twice (constructorArgs and " +
                                 "args or properties)");
        continue;
      }
      c.args.set(names[i], ca.values[i]);
      cl.args[names[i]] = ca.locs[i];
    }
  }
}

Result<LoadedTopology> load(const std::string& path, const std::string* text,
                            const LoadOptions& opts, std::vector<Diagnostic>& diagnostics) {
  const size_t first_new = diagnostics.size();
  LoadState st(diagnostics);
  load_file(fs::path(path), text, nullptr, st);
  st.spec.file = path;
  for (auto& [k, v] : opts.overrides) {
    st.spec.config[k] = v;
    st.locs.config[k] = SourceLocation{"--set " + k + "=" + v, 0, 0};
  }
  if (st.main_is_map) {
    for (auto& d : dsl::check_config(st.spec.config, st.locs.config, {path, 1, 1}))
      diagnostics.push_back(std::move(d));
  }
  Registry& reg = opts.registry ? *opts.registry : Registry::global();
  if (opts.load_plugins) {
    for (size_t i = 0; i < st.spec.plugins.size(); ++i) {
      Status s = check_plugin_file(st.spec.plugins[i]);
      if (s.ok()) s = load_plugin(st.spec.plugins[i], reg);
      if (!s.ok()) {
        diagnostics.push_back({st.locs.map.plugin(i), s.message(), true});
        st.locs.plugin_failed = true;
      }
    }
  }
  apply_storm_aliases(st, reg);
  map_constructor_args(st, reg);
  // A file cut short by the node budget or the error limit would only add follow-up errors.
  if (opts.validate && st.main_is_map && !st.too_large_reported && !st.too_many_errors_reported) {
    for (auto& d : dsl::validate(st.spec, reg, st.locs)) diagnostics.push_back(std::move(d));
  }
  std::stable_sort(diagnostics.begin() + static_cast<std::ptrdiff_t>(first_new), diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.loc.file, a.loc.line, a.loc.col) <
                            std::tie(b.loc.file, b.loc.line, b.loc.col);
                   });
  size_t errors = static_cast<size_t>(
      std::count_if(diagnostics.begin() + static_cast<std::ptrdiff_t>(first_new), diagnostics.end(),
                    [](const Diagnostic& d) { return d.error; }));
  if (errors) return Status::Invalid(path + ": " + std::to_string(errors) + " error(s)");
  return LoadedTopology{std::move(st.spec), std::move(st.locs.map), std::move(st.locs.topics)};
}

}  // namespace

Result<LoadedTopology> load_topology_file(const std::string& path, const LoadOptions& opts,
                                          std::vector<Diagnostic>& diagnostics) {
  return load(path, nullptr, opts, diagnostics);
}

Result<LoadedTopology> load_topology_file_text(const std::string& text, const std::string& path,
                                               const LoadOptions& opts,
                                               std::vector<Diagnostic>& diagnostics) {
  return load(path, &text, opts, diagnostics);
}

Result<TopologySpec> load_topology(const std::string& path, const LoadOptions& opts,
                                   std::vector<Diagnostic>& diagnostics) {
  auto t = load(path, nullptr, opts, diagnostics);
  if (!t.ok()) return t.status();
  return std::move(t).value().spec;
}

Result<TopologySpec> load_topology_text(const std::string& text, const std::string& path,
                                        const LoadOptions& opts,
                                        std::vector<Diagnostic>& diagnostics) {
  auto t = load(path, &text, opts, diagnostics);
  if (!t.ok()) return t.status();
  return std::move(t).value().spec;
}

}  // namespace sleet
