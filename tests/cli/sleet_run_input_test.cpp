// `sleet run --input TOPIC=FILE` refuses, before starting anything, a FILE that is not a regular
// readable file: /dev/zero or a directory once "loaded 0 records" and ran with exit 0.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST(SleetRunInput, InputThatIsNotARegularFileIsExit2BeforeStartingAnything) {
  test::TempDir dir("sleet-run-input");
  const std::string example = std::string(SLEET_SOURCE_DIR) + "/examples/wordcount/wordcount.yaml";
  fs::create_directories(dir.path() / "adir");
  struct Row {
    std::string file;
    std::string reason;
  };
  const std::vector<Row> rows = {
      {"/dev/zero", "is a character device, not a regular file"},
      {(dir.path() / "adir").string(), "is a directory, not a regular file"},
      {(dir.path() / "missing.txt").string(), "cannot be used: No such file or directory"},
  };
  for (auto& r : rows) {
    SCOPED_TRACE(r.file);
    const fs::path state = dir.path() / "state";
    auto res = test::run_command({SLEET_CLI_PATH, "run", example, "--state-dir", state.string(),
                                  "--until-drained", "--input", "sentences=" + r.file},
                                 60s,
                                 {{"SLEET_PLUGIN_DIR", std::string(SLEET_BINARY_DIR) + "/plugins"},
                                  {"OUTPUT_DIR", (dir.path() / "out").string()}});
    EXPECT_EQ(res.status, 2) << res.err;
    EXPECT_NE(res.err.find("--input sentences=" + r.file + ": input " + r.file + " " + r.reason),
              std::string::npos)
        << res.err;
    EXPECT_NE(res.err.find("give a regular file"), std::string::npos) << res.err;
    // Refused before anything started: no state dir, no ZooKeeper, no worker.
    EXPECT_FALSE(fs::exists(state)) << res.err;
    EXPECT_EQ(res.err.find("ZooKeeper at"), std::string::npos) << res.err;
  }
}

// The same for `input:` under topics: (a missing file only warns in `sleet validate`, since a
// worker on another host loads the file without its input; `sleet run` needs it).
TEST(SleetRunInput, MissingTopicInputIsExit2BeforeStartingAnything) {
  test::TempDir dir("sleet-run-input");
  const fs::path topo = dir.path() / "t.yaml";
  test::write_file(topo,
                   "name: missing_input\ntopics:\n  - {name: t, input: nothing.txt}\nspouts:\n"
                   "  - {id: s, class: KafkaSpout, args: {topic: t}}\nbolts:\n"
                   "  - {id: out, class: StdoutSink}\nstreams:\n  - {from: s, to: out}\n");
  const fs::path state = dir.path() / "state";
  auto res = test::run_command(
      {SLEET_CLI_PATH, "run", topo.string(), "--state-dir", state.string(), "--until-drained"},
      60s);
  EXPECT_EQ(res.status, 2) << res.err;
  EXPECT_NE(
      res.err.find(topo.string() + ": topic t: input " + (dir.path() / "nothing.txt").string() +
                   " cannot be used: No such file or directory"),
      std::string::npos)
      << res.err;
  EXPECT_FALSE(fs::exists(state)) << res.err;
}
