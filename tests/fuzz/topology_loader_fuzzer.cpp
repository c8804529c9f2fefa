// libFuzzer target for the topology file loader (topology_dsl/loader.cpp).
//
// Each input is written to a file in a private temp directory and loaded with load_topology()
// exactly as `sleet validate` does, minus plugins (load_plugins = false: dlopen of fuzzer-chosen
// paths is not what we test) and against a private registry holding stand-ins for the built-in
// and example classes (same names, same argument specs), so seeds taken from examples/**/*.yaml
// get past the class checks into the graph checks.
//
// Besides crashes, hangs and leaks (sanitizers / libFuzzer), the target checks the loader's
// contract and aborts when it is broken:
//   - a failed load reports at least one error diagnostic; a successful one reports none;
//   - a loaded spec validates again without errors (validate_topology is deterministic);
//   - every diagnostic names a file.
// SLEET_FUZZ_PRINT=1 prints each input's diagnostics (handy when writing corpus files).
// Built and run by tests/fuzz/fuzz.sh (ctest FuzzTopologyLoader, FuzzCorpusReplay).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <sleet/component.hpp>
#include <sleet/registry.hpp>

#include "topology_dsl/loader.hpp"

namespace fs = std::filesystem;

namespace {

class FakeSpout : public sleet::Spout {
 public:
  explicit FakeSpout(const sleet::Args&) {}
  sleet::Fields output_fields() const override {
    return {"key", "value", "partition", "offset", "timestamp"};
  }
  sleet::Result<size_t> next_batch(sleet::Collector&) override { return size_t{0}; }
};

class FakeSequence : public sleet::Spout {
 public:
  explicit FakeSequence(const sleet::Args&) {}
  sleet::Fields output_fields() const override { return {"n", "text"}; }
  sleet::Result<size_t> next_batch(sleet::Collector&) override { return size_t{0}; }
};

// A bolt with configurable output fields; the factory may throw, like real factories do.
class FakeBolt : public sleet::Bolt {
 public:
  FakeBolt(sleet::Fields out, const sleet::Args& args) : out_(std::move(out)) {
    if (args.string_or("format", "tsv") == "throw") throw std::invalid_argument("bad format");
  }
  sleet::Fields output_fields() const override { return out_; }
  void execute(const sleet::Tuple&, sleet::Collector&) override {}

 private:
  sleet::Fields out_;
};

sleet::ComponentDescriptor bolt(std::string name, sleet::Fields out,
                                std::vector<sleet::ArgSpec> args) {
  sleet::ComponentDescriptor d;
  d.name = std::move(name);
  d.kind = sleet::ComponentKind::bolt;
  d.help = "fuzz stand-in";
  d.args = std::move(args);
  d.factory = [out](const sleet::Args& a) -> std::unique_ptr<sleet::Component> {
    return std::make_unique<FakeBolt>(out, a);
  };
  return d;
}

struct Env {
  fs::path dir;
  fs::path input;
  sleet::Registry registry;
};

Env* env = nullptr;

void write(const fs::path& p, const char* data, size_t size) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(data, static_cast<std::streamsize>(size));
  if (!f) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", p.c_str());
    std::abort();
  }
}

void write(const fs::path& p, const std::string& s) {
  write(p, s.data(), s.size());
}

void cleanup() {
  if (!env) return;
  std::error_code ec;
  fs::remove_all(env->dir, ec);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  env = new Env;  // lives for the process (libFuzzer never tears the target down)
  std::string tmpl = (fs::temp_directory_path() / "sleet-fuzz-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) {
    std::perror("fuzz: mkdtemp");
    std::abort();
  }
  env->dir = tmpl;
  env->input = env->dir / "topology.yaml";
  std::atexit(cleanup);

  using sleet::Arg;
  using sleet::ArgKind;
  auto& r = env->registry;
  auto must = [](sleet::Status s) {
    if (!s.ok()) std::abort();
  };
  auto spout = sleet::describe<FakeSpout>("KafkaSpout", "fuzz stand-in",
                                          {{"topic", ArgKind::string, true, "topic to read", {}},
                                           {"bootstrap.servers", ArgKind::string, false, "", {}},
                                           {"group.id", ArgKind::string, false, "", {}}});
  must(r.add(std::move(spout)));
  must(r.add(
      sleet::describe<FakeSequence>("SequenceSpout", "fuzz stand-in",
                                    {{"count", ArgKind::integer, false, "", Arg(int64_t{1000})},
                                     {"batch", ArgKind::integer, false, "", Arg(int64_t{256})}})));
  must(r.add(bolt("FileSink", {},
                  {{"path", ArgKind::string, true, "output directory", {}},
                   {"format", ArgKind::string, false, "", Arg("tsv")},
                   {"delivery", ArgKind::string, false, "", Arg("exactly_once")}})));
  must(r.add(bolt("KafkaSink", {},
                  {{"topic", ArgKind::string, true, "", {}},
                   {"key_field", ArgKind::string, false, "", {}},
                   {"format", ArgKind::string, false, "", Arg("tsv")}})));
  must(r.add(bolt("StdoutSink", {}, {{"format", ArgKind::string, false, "", Arg("tsv")}})));
  must(r.add(
      bolt("SplitSentence", {"word"}, {{"field", ArgKind::string, false, "", Arg("value")}})));
  must(r.add(
      bolt("WordCount", {"word", "count"}, {{"field", ArgKind::string, false, "", Arg("word")}})));
  must(r.add(bolt("UpperCase", {"value"}, {{"field", ArgKind::string, false, "", Arg("value")}})));
  must(r.add(bolt("Dedupe", {"value"}, {{"field", ArgKind::string, false, "", Arg("value")}})));
  // Every argument kind, and no declared args at all (anything goes).
  must(r.add(bolt("Typed", {"word"},
                  {{"limit", ArgKind::integer, true, "", {}},
                   {"ratio", ArgKind::number, false, "", {}},
                   {"tags", ArgKind::list, false, "", {}},
                   {"opts", ArgKind::map, false, "", {}},
                   {"loud", ArgKind::boolean, false, "", {}},
                   {"format", ArgKind::string, false, "", {}}})));
  must(r.add(bolt("Anything", {"a", "b"}, {})));

  // Files the inputs may include (relative to the input file).
  write(env->dir / "base.yaml",
        "name: base\nconfig:\n  checkpoint.interval.ms: 250\nspouts:\n"
        "  - id: src\n    class: KafkaSpout\n    args: {topic: t}\n");
  write(env->dir / "broken.yaml", "spouts: [ {id: x\n");
  write(env->dir / "loop.yaml", "includes: [topology.yaml]\n");
  write(env->dir / "list.yaml", "- a\n- b\n");
  // For ${VAR} substitution; SLEET_FUZZ_EMPTY is set but empty (":-" then takes the default).
  setenv("SLEET_FUZZ_VAR", "fuzz", 1);
  setenv("SLEET_FUZZ_EMPTY", "", 1);
  setenv("SLEET_FUZZ_NUM", "3", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  write(env->input, reinterpret_cast<const char*>(data), size);

  sleet::LoadOptions opts;
  opts.load_plugins = false;
  opts.registry = &env->registry;
  opts.overrides["checkpoint.interval.ms"] = "500";
  std::vector<sleet::Diagnostic> diags;
  auto spec = sleet::load_topology(env->input.string(), opts, diags);

  static const bool print = std::getenv("SLEET_FUZZ_PRINT") != nullptr;
  size_t errors = 0;
  for (auto& d : diags) {
    if (print) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    if (d.error) ++errors;
    if (d.loc.file.empty() || d.to_string().empty()) {
      std::fprintf(stderr, "fuzz: diagnostic without a file: %s\n", d.message.c_str());
      std::abort();
    }
  }
  if (spec.ok() != (errors == 0)) {
    std::fprintf(stderr, "fuzz: load_topology returned %s with %zu error diagnostics\n",
                 spec.ok() ? "a spec" : "an error", errors);
    std::abort();
  }
  if (spec.ok()) {
    // Warnings (an idle spout, ignored fields) may repeat; errors must not appear.
    for (auto& d : sleet::validate_topology(*spec, env->registry)) {
      if (!d.error) continue;
      std::fprintf(stderr, "fuzz: a loaded spec does not validate again: %s\n",
                   d.to_string().c_str());
      std::abort();
    }
    std::string dot = sleet::to_dot(*spec);
    if (dot.rfind("digraph", 0) != 0) std::abort();
  }
  return 0;
}
