// A user's own plugin project, built the way a user builds it: examples/plugin is configured
// with find_package(Sleet) against this build tree (and against an install of it), compiled, and
// its bolts are then seen by `sleet list-components`, accepted by `sleet validate`, and run end
// to end by `sleet run` on the embedded Kafka and ZooKeeper.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

#include "tests/support/support.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using sleet::test::run_command;

namespace {

const fs::path kSource = SLEET_SOURCE_DIR;
const fs::path kBinary = SLEET_BINARY_DIR;
const fs::path kProject = kSource / "examples/plugin";
const fs::path kTopology = kProject / "uppercase.yaml";
const std::string kCli = SLEET_CLI_PATH;

std::string show(const sleet::test::CommandResult& r) {
  return "exit " + std::to_string(r.status) + "\n--- stdout\n" + r.out + "\n--- stderr\n" + r.err;
}

// Configures and builds examples/plugin into `dir`; returns "" or what went wrong.
std::string build_plugin(const fs::path& dir, const std::vector<std::string>& configure_args) {
  std::vector<std::string> cfg = {"cmake", "-S",         kProject.string(),
                                  "-B",    dir.string(), "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"};
  cfg.insert(cfg.end(), configure_args.begin(), configure_args.end());
  auto c = run_command(cfg, 180s);
  if (c.status != 0) return "configure failed: " + show(c);
  auto b = run_command({"cmake", "--build", dir.string(), "-j", "2"}, 600s);
  if (b.status != 0) return "build failed: " + show(b);
  if (!fs::exists(dir / "libsleet_uppercase.so"))
    return "no libsleet_uppercase.so in " + dir.string();
  return "";
}

// The plugin built against this build tree, shared by the tests of this file. It lives in the
// build tree (not a temp dir) so that each test process (ctest runs every TEST in its own) only
// rebuilds incrementally; a file lock keeps concurrent test processes from building at once.
class PluginProject : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = kBinary / "plugin-project-test";
    fs::create_directories(dir_);
    int fd = ::open((dir_.string() + ".lock").c_str(), O_CREAT | O_RDWR, 0644);
    ASSERT_GE(fd, 0);
    ::flock(fd, LOCK_EX);
    error_ = build_plugin(dir_, {"-DSleet_DIR=" + kBinary.string()});
    ::flock(fd, LOCK_UN);
    ::close(fd);
  }
  void SetUp() override { ASSERT_EQ(error_, "") << error_; }
  static fs::path so() { return dir_ / "libsleet_uppercase.so"; }
  static std::map<std::string, std::string> env() { return {{"PLUGIN_DIR", dir_.string()}}; }

  static inline fs::path dir_;
  static inline std::string error_;
};

// The expected output of uppercase.yaml: every distinct input line, ASCII-uppercased, sorted.
std::vector<std::string> expected_lines() {
  std::istringstream in(sleet::test::read_file(kProject / "input.txt"));
  std::set<std::string> distinct;
  for (std::string line; std::getline(in, line);) {
    for (char& c : line)
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    distinct.insert(line);
  }
  return {distinct.begin(), distinct.end()};
}

// Every line of the FileSink's committed part-* files, sorted (duplicates kept).
std::vector<std::string> output_lines(const fs::path& dir) {
  std::vector<std::string> lines;
  for (auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("part-", 0) != 0) continue;
    std::istringstream in(sleet::test::read_file(e.path()));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

// One component's entry in `sleet list-components` output: its "NAME (kind, origin)" line and
// the indented lines (help, arguments) after it.
std::string component_block(const std::string& out, const std::string& name) {
  std::istringstream in(out);
  std::string block;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != ' ') inside = line.rfind(name + " (", 0) == 0;
    if (inside) block += line + "\n";
  }
  return block;
}

}  // namespace

TEST_F(PluginProject, CompilesAgainstThePublicInterfaceOnly) {
  // Sleet::sleet brings include/ (as a system include), THREADED and C++20, and nothing of the
  // runtime's private dependencies or the source root.
  std::string cc = sleet::test::read_file(dir_ / "compile_commands.json");
  EXPECT_NE(cc.find((kSource / "include").string()), std::string::npos) << cc;
  EXPECT_NE(cc.find("-DTHREADED"), std::string::npos) << cc;
  EXPECT_NE(cc.find("++20"), std::string::npos) << cc;
  EXPECT_EQ(cc.find(kSource.string() + " "), std::string::npos) << cc;  // the source root
  EXPECT_EQ(cc.find("-Wextra"), std::string::npos) << cc;               // sleet_deps' flags
  EXPECT_EQ(cc.find("SPDLOG"), std::string::npos) << cc;                // spdlog's definitions
}

TEST_F(PluginProject, ListComponentsShowsTheBoltsAndTheirArgs) {
  auto r = run_command({kCli, "list-components", "--plugin", so().string()}, 60s);
  ASSERT_EQ(r.status, 0) << show(r);
  EXPECT_NE(r.out.find("UpperCase (bolt, " + so().string() + ")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Dedupe (bolt, " + so().string() + ")"), std::string::npos) << r.out;
  // Each bolt's `field` argument, with its default.
  EXPECT_NE(component_block(r.out, "UpperCase").find("field: string, default value"),
            std::string::npos)
      << r.out;
  EXPECT_NE(component_block(r.out, "Dedupe").find("field: string, default value"),
            std::string::npos)
      << r.out;
  EXPECT_NE(component_block(r.out, "Dedupe").find("stateful"), std::string::npos) << r.out;
  // Built-ins are still there next to the plugin's.
  EXPECT_NE(r.out.find("KafkaSpout (spout, built-in)"), std::string::npos) << r.out;
}

TEST_F(PluginProject, ValidateAcceptsTheTopologyNamingTheBuiltPlugin) {
  auto r = run_command({kCli, "validate", kTopology.string()}, 60s, env());
  ASSERT_EQ(r.status, 0) << show(r);
  EXPECT_NE(r.out.find("UpperCase"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Dedupe"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(so().string()), std::string::npos) << r.out;  // the plugin it loaded
}

TEST_F(PluginProject, ValidateFailsWithoutThePlugin) {
  // The plugin path really comes from PLUGIN_DIR: point it elsewhere and the classes are unknown.
  sleet::test::TempDir empty("sleet-noplugin");
  auto r = run_command({kCli, "validate", kTopology.string()}, 60s, {{"PLUGIN_DIR", empty.str()}});
  EXPECT_EQ(r.status, 2) << show(r);
  EXPECT_NE(r.err.find(empty.str() + "/libsleet_uppercase.so"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("UpperCase"), std::string::npos) << r.err;
}

TEST_F(PluginProject, RunsEndToEndEachDistinctLineUppercasedExactlyOnce) {
  sleet::test::TempDir dir("sleet-plugin-run");
  auto env = PluginProject::env();
  env["OUTPUT_DIR"] = (dir.path() / "out").string();
  auto r = run_command({kCli, "run", kTopology.string(), "--until-drained", "--state-dir",
                        (dir.path() / "state").string(), "--set", "checkpoint.interval.ms=200"},
                       180s, env);
  ASSERT_EQ(r.status, 0) << show(r) << "\n--- worker.log\n"
                         << sleet::test::read_file(dir.path() / "state/worker.log");
  auto want = expected_lines();
  ASSERT_GT(want.size(), 5u);
  ASSERT_LT(want.size(), 17u);  // the input has lines that differ only in case, and repeats
  EXPECT_EQ(output_lines(dir.path() / "out"), want);
}

// The same project against an install of Sleet (cmake --install), found through
// CMAKE_PREFIX_PATH, and loaded by the installed `sleet`.
TEST(PluginProjectInstall, BuildsAgainstAnInstallAndLoadsInTheInstalledCli) {
  sleet::test::TempDir dir("sleet-install");
  const fs::path prefix = dir.path() / "prefix", build = dir.path() / "build";
  auto inst =
      run_command({"cmake", "--install", kBinary.string(), "--prefix", prefix.string()}, 180s);
  ASSERT_EQ(inst.status, 0) << show(inst);
  ASSERT_TRUE(fs::exists(prefix / "include/sleet/component.hpp"));
  ASSERT_TRUE(fs::exists(prefix / "bin/sleet"));

  std::string err = build_plugin(build, {"-DCMAKE_PREFIX_PATH=" + prefix.string()});
  ASSERT_EQ(err, "") << err;
  std::string cache = sleet::test::read_file(build / "CMakeCache.txt");
  EXPECT_NE(cache.find("Sleet_DIR:PATH=" + prefix.string()), std::string::npos);
  // Headers come from the install, not from the source tree.
  std::string cc = sleet::test::read_file(build / "compile_commands.json");
  EXPECT_EQ(cc.find(kSource.string() + "/include"), std::string::npos) << cc;

  const std::string so = (build / "libsleet_uppercase.so").string();
  auto r = run_command({(prefix / "bin/sleet").string(), "list-components", "--plugin", so}, 60s);
  ASSERT_EQ(r.status, 0) << show(r);
  EXPECT_NE(r.out.find("UpperCase (bolt, " + so + ")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Dedupe (bolt, " + so + ")"), std::string::npos) << r.out;
}
