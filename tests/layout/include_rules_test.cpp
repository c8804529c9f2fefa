// The dependency rules of the layout (docs/architecture.md, "Dependency rules"; DESIGN.md,
// Layout), checked on every #include of the source tree: a library folder may include only the
// folders below it, third-party client libraries stay in the one folder that wraps them, and
// plugins (examples/, tests/plugins/) see only the public API. The CMake targets declare the same
// edges (sleet_library DEPS), but object libraries sharing one include root cannot stop an include
// by themselves; this test does.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/support.hpp"

namespace fs = std::filesystem;

namespace {

struct Rules {
  // Library folder -> the Sleet folders it may include besides itself.
  std::map<std::string, std::set<std::string>> may_use;
  // Third-party include prefix ("librdkafka/") -> the folders that may include it.
  std::map<std::string, std::set<std::string>> third_party;
  // Folders whose code is a plugin: only <sleet/...> and third parties, no "folder/..." include.
  std::set<std::string> public_api_only;
  // Folders that may include any library folder (tests, benchmarks).
  std::set<std::string> anything;
  // Folders not holding C++ of ours.
  std::set<std::string> ignored;
};

Rules project_rules() {
  Rules r;
  r.may_use = {
      {"include", {}},
      {"core", {"include"}},
      {"runtime", {"include", "core"}},
      {"kafka", {"include", "core"}},
      {"coordination", {"include", "core"}},
      {"checkpointing", {"include", "core", "coordination"}},
      {"topology_dsl", {"include", "core"}},
      {"spouts", {"include", "core", "kafka"}},
      {"bolts", {"include", "core", "kafka"}},
      {"cluster",
       {"include", "core", "runtime", "kafka", "coordination", "checkpointing", "topology_dsl",
        "spouts", "bolts"}},
      {"cli",
       {"include", "core", "runtime", "kafka", "coordination", "checkpointing", "topology_dsl",
        "spouts", "bolts", "cluster"}},
  };
  r.third_party = {
      {"librdkafka/", {"kafka", "tests", "bench"}},
      {"zookeeper/", {"coordination", "tests"}},
      {"yaml-cpp/", {"topology_dsl", "tests"}},
      {"CLI/", {"cli"}},
  };
  r.anything = {"tests", "bench"};
  r.ignored = {"build", "docs", "scripts", "cmake", "deploy", ".ci", ".git"};
  return r;
}

struct Violation {
  std::string where;  // file:line
  std::string what;
};

// The folder a repository-relative path belongs to for the rules: its first component, except
// that tests/plugins/ and examples/ hold plugins.
std::string folder_of(const fs::path& rel) {
  std::string first = rel.begin()->string();
  if (first == "tests" && std::distance(rel.begin(), rel.end()) > 2 &&
      std::next(rel.begin())->string() == "plugins")
    return "plugins";
  return first;
}

std::vector<Violation> check_tree(const fs::path& root, const Rules& rules) {
  std::vector<Violation> out;
  static const std::regex include_re(R"(^\s*#\s*include\s*([<"])([^>"]+)[>"])");
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    fs::path rel = fs::relative(it->path(), root);
    if (it->is_directory()) {
      std::string name = rel.filename().string();
      if (rules.ignored.count(rel.string()) || name.rfind("build", 0) == 0 || name[0] == '.')
        it.disable_recursion_pending();
      continue;
    }
    std::string ext = rel.extension().string();
    if (ext == ".cpp" || ext == ".hpp" || ext == ".h" || ext == ".cc") files.push_back(rel);
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& rel : files) {
    std::string folder = folder_of(rel);
    bool plugin = folder == "plugins" || folder == "examples";
    if (std::distance(rel.begin(), rel.end()) == 1) {
      out.push_back({rel.string(), "C++ source at the repository root: it belongs to a folder"});
      continue;
    }
    if (!plugin && !rules.anything.count(folder) && !rules.may_use.count(folder)) {
      out.push_back({rel.string(), "folder '" + folder +
                                       "' has no dependency rule: add it to the table in "
                                       "tests/layout/include_rules_test.cpp and "
                                       "docs/architecture.md"});
      continue;
    }
    std::ifstream in(root / rel);
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      std::smatch m;
      if (!std::regex_search(line, m, include_re)) continue;
      std::string target = m[2];
      std::string where = rel.string() + ":" + std::to_string(lineno);
      for (const auto& [prefix, who] : rules.third_party) {
        if (target.rfind(prefix, 0) == 0 && !who.count(folder))
          out.push_back({where, folder + "/ includes <" + target + ">, which only " + [&] {
                           std::string s;
                           for (const auto& w : who) s += (s.empty() ? "" : ", ") + w;
                           return s;
                         }() + " may use"});
      }
      if (m[1] != "\"") continue;
      std::string to = fs::path(target).begin()->string();
      if (!rules.may_use.count(to) && to != "tests") continue;  // a same-folder relative include
      if (plugin) {
        out.push_back({where, "plugin code includes \"" + target +
                                  "\": plugins see only the public API, <sleet/...>"});
        continue;
      }
      if (rules.anything.count(folder) || to == folder) continue;
      const auto& allowed = rules.may_use.at(folder);
      if (!allowed.count(to)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a + "/";
        out.push_back({where, folder + "/ includes \"" + target + "\": " + folder +
                                  "/ may use only " + (list.empty() ? "nothing" : list)});
      }
    }
  }
  return out;
}

std::string render(const std::vector<Violation>& vs) {
  std::ostringstream os;
  for (const auto& v : vs) os << v.where << ": " << v.what << "\n";
  return os.str();
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

}  // namespace

TEST(IncludeRules, TheSourceTreeKeepsEveryRule) {
  std::vector<Violation> vs = check_tree(SLEET_SOURCE_DIR, project_rules());
  EXPECT_TRUE(vs.empty()) << render(vs);
}

TEST(IncludeRules, APlantedViolationOfEachKindIsFound) {
  sleet::test::TempDir dir;
  fs::path root = dir.path();
  // Allowed: own folder, a folder below, the public API.
  write(root / "runtime/engine.cpp",
        "#include \"runtime/engine.hpp\"\n#include \"core/kill_point.hpp\"\n"
        "#include <sleet/tuple.hpp>\n#include <vector>\n");
  write(root / "cluster/worker.cpp", "#include \"checkpointing/coordinator.hpp\"\n");
  // Each of these crosses a rule.
  write(root / "core/status.cpp", "#include <sleet/status.hpp>\n#include \"runtime/engine.hpp\"\n");
  write(root / "checkpointing/coordinator.cpp", "  #  include \"runtime/engine.hpp\"\n");
  write(root / "bolts/kafka_sink.cpp", "#include \"spouts/kafka_spout.hpp\"\n");
  write(root / "runtime/worker.cpp", "#include \"cluster/worker.hpp\"\n");
  write(root / "spouts/kafka_spout.cpp", "#include <librdkafka/rdkafka.h>\n");
  write(root / "examples/plugin/bolts.cpp", "#include \"core/builtin.hpp\"\n");
  write(root / "tests/plugins/gen.cpp", "#include \"runtime/engine.hpp\"\n");
  write(root / "transport/frame.cpp", "#include <vector>\n");
  write(root / "stray.cpp", "int x;\n");
  // Tests may include anything.
  write(root / "tests/runtime/engine_test.cpp", "#include \"cluster/worker.hpp\"\n");

  std::vector<Violation> vs = check_tree(root, project_rules());
  std::vector<std::string> where;
  for (const auto& v : vs) where.push_back(v.where);
  EXPECT_EQ(where,
            (std::vector<std::string>{
                "bolts/kafka_sink.cpp:1", "checkpointing/coordinator.cpp:1", "core/status.cpp:2",
                "examples/plugin/bolts.cpp:1", "runtime/worker.cpp:1", "spouts/kafka_spout.cpp:1",
                "stray.cpp", "tests/plugins/gen.cpp:1", "transport/frame.cpp"}))
      << render(vs);
  EXPECT_NE(render(vs).find("core/status.cpp:2: core/ includes \"runtime/engine.hpp\": core/ may "
                            "use only include/"),
            std::string::npos)
      << render(vs);
}
