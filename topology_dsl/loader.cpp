#include "topology_dsl/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <regex>
#include <set>

namespace sleet {

namespace fs = std::filesystem;

std::string Diagnostic::to_string() const {
  std::string s = loc.file.empty() ? "<topology>" : loc.file;
  if (loc.line > 0) s += ":" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
  return s + (error ? ": error: " : ": warning: ") + message;
}

namespace {

const std::vector<std::string> kTopLevel = {"name",    "config",   "plugins", "spouts",    "bolts",
                                            "streams", "includes", "topics",  "components"};
const std::vector<std::string> kComponentKeys = {
    "id",           "class",    "className",         "parallelism", "parallelismHint",
    "args",         "on_error", "dead_letter_topic", "properties",  "constructorArgs",
    "configMethods"};
const std::vector<std::string> kStreamKeys = {"from", "to", "grouping", "name", "streamId"};

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1,
                         prev[j - 1] + (std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string did_you_mean(const std::string& key, const std::vector<std::string>& known) {
  std::string best;
  size_t bd = 3;
  for (auto& k : known) {
    size_t d = edit_distance(key, k);
    if (d < bd) {
      bd = d;
      best = k;
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// One file being read; diagnostics point into it.
class Reader {
 public:
  Reader(std::string file, std::vector<Diagnostic>& diags)
      : file_(std::move(file)), diags_(diags) {}

  SourceLocation loc(const YAML::Node& n) const {
    auto m = n.Mark();
    if (m.line < 0) return {file_, 0, 0};
    return {file_, m.line + 1, m.column + 1};
  }
  void error(const YAML::Node& n, const std::string& msg) { diags_.push_back({loc(n), msg, true}); }
  void warn(const YAML::Node& n, const std::string& msg) { diags_.push_back({loc(n), msg, false}); }

  // ${VAR} and ${VAR:-default} from the environment, in any string scalar.
  std::string substitute(const YAML::Node& n, const std::string& in) {
    std::string out;
    size_t i = 0;
    while (i < in.size()) {
      size_t s = in.find("${", i);
      if (s == std::string::npos) {
        out += in.substr(i);
        break;
      }
      out += in.substr(i, s - i);
      size_t e = in.find('}', s);
      if (e == std::string::npos) {
        error(n, "unterminated '${' in '" + in + "'");
        return out + in.substr(s);
      }
      std::string body = in.substr(s + 2, e - s - 2);
      std::string var = body, def;
      bool has_def = false;
      if (auto d = body.find(":-"); d != std::string::npos) {
        var = body.substr(0, d);
        def = body.substr(d + 2);
        has_def = true;
      }
      if (var.empty() || !std::all_of(var.begin(), var.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
          })) {
        error(n, "bad variable reference '${" + body + "}'");
      } else if (const char* v = std::getenv(var.c_str()); v && (*v || !has_def)) {
        out += v;
      } else if (has_def) {
        out += def;
      } else {
        error(n, "environment variable " + var + " is not set (use ${" + var +
                     ":-default} for a default)");
      }
      i = e + 1;
    }
    return out;
  }

  std::string scalar(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) {
      error(n, what + " must be a single value");
      return {};
    }
    return substitute(n, n.Scalar());
  }

  // A YAML value as a typed Arg: plain scalars are typed (bool, integer, number, null), quoted
  // ones stay strings.
  Arg to_arg(const YAML::Node& n) {
    if (n.IsNull()) return Arg();
    if (n.IsSequence()) {
      std::vector<Arg> l;
      for (auto e : n) l.push_back(to_arg(e));
      return Arg(std::move(l));
    }
    if (n.IsMap()) {
      std::map<std::string, Arg> m;
      for (auto kv : n) m[kv.first.Scalar()] = to_arg(kv.second);
      return Arg(std::move(m));
    }
    std::string s = substitute(n, n.Scalar());
    if (n.Tag() == "!") return Arg(s);  // quoted
    if (s == "true" || s == "True" || s == "TRUE") return Arg(true);
    if (s == "false" || s == "False" || s == "FALSE") return Arg(false);
    if (s == "null" || s == "~") return Arg();
    static const std::regex int_re("[-+]?[0-9]+"),
        num_re("[-+]?([0-9]*\\.[0-9]+|[0-9]+\\.?[0-9]*)([eE][-+]?[0-9]+)?");
    if (std::regex_match(s, int_re)) {
      try {
        return Arg(static_cast<int64_t>(std::stoll(s)));
      } catch (...) {
      }
    }
    if (std::regex_match(s, num_re)) {
      try {
        return Arg(std::stod(s));
      } catch (...) {
      }
    }
    return Arg(s);
  }

  void check_keys(const YAML::Node& map, const std::vector<std::string>& known,
                  const std::string& where) {
    for (auto kv : map) {
      const std::string& k = kv.first.Scalar();
      if (std::find(known.begin(), known.end(), k) == known.end())
        error(kv.first, "unknown key '" + k + "' in " + where + did_you_mean(k, known));
    }
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<Diagnostic>& diags_;
};

bool parse_grouping(Reader& r, const YAML::Node& g, Grouping& out) {
  auto set_type = [&](const YAML::Node& n, std::string t) {
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
    if (t == "shuffle" || t == "none")
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
    else {
      r.error(n,
              "unknown grouping '" + t + "' (use shuffle, fields, all, global, local_or_shuffle)");
      return false;
    }
    return true;
  };
  if (!g || g.IsNull()) return true;  // shuffle
  if (g.IsScalar()) return set_type(g, r.scalar(g, "grouping"));
  if (!g.IsMap()) {
    r.error(g, "grouping must be a word or a map {type, fields}");
    return false;
  }
  r.check_keys(g, {"type", "fields", "args", "streamId", "customClass"}, "grouping");
  if (!g["type"]) {
    r.error(g, "grouping needs a type");
    return false;
  }
  if (!set_type(g["type"], r.scalar(g["type"], "grouping type"))) return false;
  for (const char* key : {"fields", "args"}) {
    YAML::Node f = g[key];
    if (!f) continue;
    if (f.IsScalar()) {
      out.fields.push_back(r.scalar(f, "field"));
    } else if (f.IsSequence()) {
      for (auto e : f) out.fields.push_back(r.scalar(e, "field"));
    } else {
      r.error(f, std::string(key) + " must be a list of field names");
    }
  }
  if (out.type == GroupingType::fields && out.fields.empty())
    r.error(g, "a fields grouping needs fields: [name, ...]");
  return true;
}

struct LoadState {
  std::vector<Diagnostic>& diags;
  TopologySpec spec;
  std::set<std::string> stack;  // canonical paths being loaded (include cycle check)
  bool have_name = false;
};

void load_file(const fs::path& path, const YAML::Node* from, Reader* parent, LoadState& st,
               bool is_main) {
  std::error_code ec;
  fs::path canon = fs::weakly_canonical(path, ec);
  if (st.stack.count(canon.string())) {
    parent->error(*from, "include cycle: " + path.string() + " is already being loaded");
    return;
  }
  if (!fs::exists(path, ec)) {
    if (parent)
      parent->error(*from, "included file " + path.string() + " does not exist");
    else
      st.diags.push_back({{path.string(), 0, 0}, "file does not exist", true});
    return;
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const YAML::ParserException& e) {
    st.diags.push_back({{path.string(), e.mark.line + 1, e.mark.column + 1}, e.msg, true});
    return;
  } catch (const std::exception& e) {
    st.diags.push_back({{path.string(), 0, 0}, e.what(), true});
    return;
  }
  Reader r(path.string(), st.diags);
  if (root.IsNull()) {
    if (is_main) st.diags.push_back({{path.string(), 1, 1}, "empty topology file", true});
    return;
  }
  if (!root.IsMap()) {
    r.error(root, "a topology file is a map with keys " + join(kTopLevel));
    return;
  }
  st.stack.insert(canon.string());
  r.check_keys(root, kTopLevel, "the topology file");
  const fs::path dir = path.parent_path();

  if (auto inc = root["includes"]) {
    if (!inc.IsSequence()) {
      r.error(inc, "includes must be a list of files");
    } else {
      for (auto e : inc) {
        // Flux form: {resource: false, file: "x.yaml", override: true}
        YAML::Node fnode = e.IsMap() && e["file"] ? e["file"] : e;
        std::string f = r.scalar(fnode, "include");
        if (f.empty()) continue;
        fs::path p = fs::path(f).is_absolute() ? fs::path(f) : dir / f;
        load_file(p, &fnode, &r, st, false);
      }
    }
  }
  if (auto n = root["name"]) {
    std::string name = r.scalar(n, "name");
    if (is_main || !st.have_name) st.spec.name = name;
    st.have_name = true;
    static const std::regex name_re("[A-Za-z0-9_.-]+");
    if (!std::regex_match(name, name_re))
      r.error(n, "name '" + name + "' may only use letters, digits, '_', '-' and '.'");
  }
  if (auto c = root["config"]) {
    if (!c.IsMap()) {
      r.error(c, "config must be a map of key: value");
    } else {
      for (auto kv : c) {
        if (!kv.second.IsScalar() && !kv.second.IsNull()) {
          r.error(kv.second,
                  "config value of '" + kv.first.Scalar() + "' must be a string or number");
          continue;
        }
        st.spec.config[kv.first.Scalar()] =
            kv.second.IsNull() ? "" : r.scalar(kv.second, "config value");
      }
    }
  }
  if (auto p = root["plugins"]) {
    if (!p.IsSequence()) {
      r.error(p, "plugins must be a list of shared library paths");
    } else {
      for (auto e : p) {
        std::string f = r.scalar(e, "plugin");
        if (f.empty()) continue;
        fs::path fp = fs::path(f).is_absolute() ? fs::path(f) : dir / f;
        st.spec.plugins.push_back(fp.lexically_normal().string());
        st.spec.plugin_locs.push_back(r.loc(e));
      }
    }
  }
  if (auto t = root["topics"]) {
    if (!t.IsSequence()) {
      r.error(t, "topics must be a list of {name, partitions, input}");
    } else {
      for (auto e : t) {
        if (!e.IsMap()) {
          r.error(e, "a topic is a map {name, partitions, input}");
          continue;
        }
        r.check_keys(e, {"name", "partitions", "input"}, "a topic");
        TopicSpec ts;
        ts.loc = r.loc(e);
        if (e["name"]) ts.name = r.scalar(e["name"], "topic name");
        if (ts.name.empty()) r.error(e, "a topic needs a name");
        if (e["partitions"]) {
          Arg a = r.to_arg(e["partitions"]);
          if (a.kind() != ArgKind::integer || a.as_int() < 1)
            r.error(e["partitions"], "partitions must be a whole number of at least 1");
          else
            ts.partitions = static_cast<int>(a.as_int());
        }
        if (e["input"]) {
          std::string f = r.scalar(e["input"], "input");
          ts.input_file =
              (fs::path(f).is_absolute() ? fs::path(f) : dir / f).lexically_normal().string();
        }
        st.spec.topics.push_back(std::move(ts));
      }
    }
  }
  if (auto c = root["components"]) r.warn(c, "Flux 'components' (Java beans) are ignored by Sleet");
  for (auto [key, kind] :
       {std::pair{"spouts", ComponentKind::spout}, {"bolts", ComponentKind::bolt}}) {
    YAML::Node list = root[key];
    if (!list) continue;
    if (!list.IsSequence()) {
      r.error(list, std::string(key) + " must be a list");
      continue;
    }
    for (auto e : list) {
      if (!e.IsMap()) {
        r.error(e, "a component is a map {id, class, parallelism, args}");
        continue;
      }
      r.check_keys(e, kComponentKeys, "a component");
      ComponentSpec c;
      c.kind = kind;
      c.loc = r.loc(e);
      c.loc.file = r.file();
      if (e["id"]) c.id = r.scalar(e["id"], "id");
      if (c.id.empty()) r.error(e, "a component needs an id");
      YAML::Node cls = e["class"] ? e["class"] : e["className"];
      if (cls) {
        c.class_name = r.scalar(cls, "class");
        c.class_loc = r.loc(cls);
      } else {
        r.error(e, "component '" + c.id + "' needs a class");
      }
      YAML::Node par = e["parallelism"] ? e["parallelism"] : e["parallelismHint"];
      if (par) {
        Arg a = r.to_arg(par);
        c.parallelism_loc = r.loc(par);
        if (a.kind() != ArgKind::integer)
          r.error(par, "parallelism must be a whole number, got '" + a.to_string() + "'");
        else
          c.parallelism = static_cast<int>(a.as_int());
      }
      if (auto a = e["args"]) {
        if (!a.IsMap()) {
          r.error(a, "args must be a map of name: value");
        } else {
          for (auto kv : a) {
            c.args.set(kv.first.Scalar(), r.to_arg(kv.second));
            c.arg_locs[kv.first.Scalar()] = r.loc(kv.first);
          }
        }
      }
      if (auto props = e["properties"]) {  // Flux: [{name: x, value: y}]
        if (props.IsSequence())
          for (auto p : props)
            if (p.IsMap() && p["name"]) {
              c.args.set(p["name"].Scalar(), r.to_arg(p["value"]));
              c.arg_locs[p["name"].Scalar()] = r.loc(p["name"]);
            }
      }
      if (auto ca = e["constructorArgs"]) {
        c.args.set("constructorArgs", r.to_arg(ca));
        c.arg_locs["constructorArgs"] = r.loc(ca);
      }
      if (auto oe = e["on_error"]) {
        std::string p = r.scalar(oe, "on_error");
        if (p == "fail")
          c.on_error = ErrorPolicy::fail;
        else if (p == "skip")
          c.on_error = ErrorPolicy::skip;
        else if (p == "dead_letter")
          c.on_error = ErrorPolicy::dead_letter;
        else
          r.error(oe, "on_error must be fail, skip or dead_letter, got '" + p + "'");
      }
      if (auto dl = e["dead_letter_topic"]) c.dead_letter_topic = r.scalar(dl, "dead_letter_topic");
      st.spec.components.push_back(std::move(c));
    }
  }
  if (auto s = root["streams"]) {
    if (!s.IsSequence()) {
      r.error(s, "streams must be a list of {from, to, grouping}");
    } else {
      for (auto e : s) {
        if (!e.IsMap()) {
          r.error(e, "a stream is a map {from, to, grouping}");
          continue;
        }
        r.check_keys(e, kStreamKeys, "a stream");
        StreamSpec ss;
        ss.loc = r.loc(e);
        if (e["from"]) {
          ss.from = r.scalar(e["from"], "from");
          ss.from_loc = r.loc(e["from"]);
        } else {
          r.error(e, "a stream needs from:");
        }
        if (e["to"]) {
          ss.to = r.scalar(e["to"], "to");
          ss.to_loc = r.loc(e["to"]);
        } else {
          r.error(e, "a stream needs to:");
        }
        ss.grouping_loc = e["grouping"] ? r.loc(e["grouping"]) : ss.loc;
        parse_grouping(r, e["grouping"], ss.grouping);
        st.spec.streams.push_back(std::move(ss));
      }
    }
  }
  st.stack.erase(canon.string());
}

SourceLocation or_component(const SourceLocation& l, const ComponentSpec& c) {
  return l.line > 0 ? l : c.loc;
}

}  // namespace

std::vector<Diagnostic> validate_topology(const TopologySpec& spec, const Registry& registry) {
  std::vector<Diagnostic> d;
  auto err = [&](const SourceLocation& l, const std::string& m) { d.push_back({l, m, true}); };
  SourceLocation top{spec.file, spec.file.empty() ? 0 : 1, 1};
  if (spec.name.empty()) err(top, "the topology needs a name");
  std::map<std::string, const ComponentSpec*> by_id;
  std::map<std::string, Fields> outputs;
  bool any_spout = false;
  for (auto& c : spec.components) {
    if (c.id.empty()) continue;
    if (!by_id.emplace(c.id, &c).second) {
      err(c.loc, "duplicate id '" + c.id + "' (first defined at line " +
                     std::to_string(by_id[c.id]->loc.line) + ")");
      continue;
    }
    any_spout |= c.kind == ComponentKind::spout;
    if (c.parallelism < 1)
      err(or_component(c.parallelism_loc, c), "parallelism of '" + c.id + "' is " +
                                                  std::to_string(c.parallelism) +
                                                  "; it must be at least 1");
    if (c.class_name.empty()) continue;
    const ComponentDescriptor* desc = registry.find(c.class_name);
    if (!desc) {
      std::vector<std::string> names;
      for (auto* x : registry.list()) names.push_back(x->name);
      err(or_component(c.class_loc, c), "unknown class '" + c.class_name + "'" +
                                            did_you_mean(c.class_name, names) +
                                            "; registered: " + join(names));
      continue;
    }
    if ((desc->kind == ComponentKind::spout) != (c.kind == ComponentKind::spout))
      err(or_component(c.class_loc, c),
          "class '" + c.class_name + "' is a " +
              (desc->kind == ComponentKind::spout ? "spout" : "bolt") + ", listed under " +
              (c.kind == ComponentKind::spout ? "spouts" : "bolts"));
    bool args_ok = true;
    for (auto& m : registry.check_args(*desc, c.args)) {
      // Point at the offending argument when the message names one we know.
      SourceLocation l = c.loc;
      for (auto& [name, al] : c.arg_locs)
        if (m.find("'" + name + "'") != std::string::npos) l = al;
      err(l, "component '" + c.id + "': " + m);
      args_ok = false;
    }
    if (c.on_error == ErrorPolicy::dead_letter && c.dead_letter_topic.empty())
      err(c.loc, "component '" + c.id + "' has on_error: dead_letter but no dead_letter_topic");
    if (args_ok) {
      auto inst = registry.create(c.class_name, c.args);
      if (!inst.ok())
        err(c.loc, "component '" + c.id + "': " + inst.status().message());
      else
        outputs[c.id] = (*inst)->output_fields();
    }
  }
  if (!spec.components.empty() && !any_spout) err(top, "the topology has no spout");
  std::map<std::string, std::vector<std::string>> next;
  std::set<std::string> has_input;
  for (auto& s : spec.streams) {
    auto fl = s.from_loc.line > 0 ? s.from_loc : s.loc;
    auto tl = s.to_loc.line > 0 ? s.to_loc : s.loc;
    bool ok = true;
    std::vector<std::string> ids;
    for (auto& [id, c] : by_id) ids.push_back(id);
    if (!s.from.empty() && !by_id.count(s.from)) {
      err(fl, "stream from unknown id '" + s.from + "'" + did_you_mean(s.from, ids));
      ok = false;
    }
    if (!s.to.empty() && !by_id.count(s.to)) {
      err(tl, "stream to unknown id '" + s.to + "'" + did_you_mean(s.to, ids));
      ok = false;
    }
    if (!ok || s.from.empty() || s.to.empty()) continue;
    if (by_id[s.to]->kind == ComponentKind::spout)
      err(tl, "stream into spout '" + s.to + "': spouts take no input");
    if (s.grouping.type == GroupingType::direct)
      err(s.grouping_loc.line > 0 ? s.grouping_loc : s.loc, "direct grouping is not supported yet");
    if (s.grouping.type == GroupingType::fields && outputs.count(s.from)) {
      const Fields& f = outputs[s.from];
      for (auto& name : s.grouping.fields)
        if (!f.contains(name))
          err(s.grouping_loc.line > 0 ? s.grouping_loc : s.loc,
              "fields grouping on '" + name + "', but '" + s.from + "' declares only [" +
                  join(f.names()) + "]");
    }
    next[s.from].push_back(s.to);
    has_input.insert(s.to);
  }
  for (auto& c : spec.components)
    if (c.kind == ComponentKind::bolt && !c.id.empty() && !has_input.count(c.id) &&
        by_id[c.id] == &c)
      err(c.loc, "bolt '" + c.id + "' has no input stream");
  // Cycle check: barriers cannot align on a cycle.
  std::map<std::string, int> color;
  std::vector<std::string> path;
  std::function<bool(const std::string&)> dfs = [&](const std::string& v) -> bool {
    color[v] = 1;
    path.push_back(v);
    for (auto& w : next[v]) {
      if (color[w] == 1) {
        std::string cyc;
        auto it = std::find(path.begin(), path.end(), w);
        for (; it != path.end(); ++it) cyc += *it + " -> ";
        cyc += w;
        const ComponentSpec* c = by_id[w];
        err(c ? c->loc : top,
            "the graph has a cycle (" + cyc + "); checkpoint barriers cannot align on a cycle");
        return true;
      }
      if (color[w] == 0 && dfs(w)) return true;
    }
    path.pop_back();
    color[v] = 2;
    return false;
  };
  for (auto& [id, c] : by_id)
    if (color[id] == 0 && dfs(id)) break;
  return d;
}

Result<TopologySpec> load_topology(const std::string& path, const LoadOptions& opts,
                                   std::vector<Diagnostic>& diagnostics) {
  LoadState st{diagnostics, {}, {}, false};
  load_file(path, nullptr, nullptr, st, true);
  st.spec.file = path;
  for (auto& [k, v] : opts.overrides) st.spec.config[k] = v;
  Registry& reg = opts.registry ? *opts.registry : Registry::global();
  if (opts.load_plugins) {
    for (size_t i = 0; i < st.spec.plugins.size(); ++i) {
      Status s = load_plugin(st.spec.plugins[i], reg);
      if (!s.ok()) diagnostics.push_back({st.spec.plugin_locs[i], s.message(), true});
    }
  }
  bool parse_errors =
      std::any_of(diagnostics.begin(), diagnostics.end(), [](auto& d) { return d.error; });
  if (!parse_errors || !st.spec.components.empty()) {
    for (auto& d : validate_topology(st.spec, reg)) diagnostics.push_back(std::move(d));
  }
  std::stable_sort(diagnostics.begin(), diagnostics.end(), [](auto& a, auto& b) {
    return std::tie(a.loc.file, a.loc.line, a.loc.col) <
           std::tie(b.loc.file, b.loc.line, b.loc.col);
  });
  size_t errors =
      std::count_if(diagnostics.begin(), diagnostics.end(), [](auto& d) { return d.error; });
  if (errors) return Status::Invalid(path + ": " + std::to_string(errors) + " error(s)");
  return std::move(st.spec);
}

std::string to_dot(const TopologySpec& spec) {
  std::string o = "digraph \"" + spec.name + "\" {\n  rankdir=LR;\n";
  for (auto& c : spec.components)
    o += "  \"" + c.id + "\" [shape=" + (c.kind == ComponentKind::spout ? "invhouse" : "box") +
         ", label=\"" + c.id + "\\n" + c.class_name + " x" + std::to_string(c.parallelism) +
         "\"];\n";
  for (auto& s : spec.streams) {
    std::string label = grouping_name(s.grouping.type);
    if (!s.grouping.fields.empty()) label += "(" + join(s.grouping.fields) + ")";
    o += "  \"" + s.from + "\" -> \"" + s.to + "\" [label=\"" + label + "\"];\n";
  }
  return o + "}\n";
}

}  // namespace sleet
