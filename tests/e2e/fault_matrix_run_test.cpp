// Fault matrix (issue 10), `sleet run` set-up cases: a rerun in the same state directory must end
// exact or be refused with its message, never exit 0 with wrong output.
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>

#include "tests/support/kafka_fixture.hpp"
#include "tests/support/sleet_runs.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(int from, int to) {
  std::vector<std::string> v;
  for (int i = from; i < to; ++i) v.push_back("record-" + std::to_string(i));
  return v;
}

void write_lines(const fs::path& f, const std::vector<std::string>& lines) {
  std::string text;
  for (auto& l : lines) text += l + "\n";
  test::write_file(f, text);
}

}  // namespace

// A second run in the same state dir on an external Kafka resumes the first one's checkpoint: its
// status.json (drained, checkpoint N, visible) must not end the second run before it has read the
// new input; the second run's output holds exactly the records loaded after the first.
TEST(FaultMatrix, RerunInTheSameStateDirResumesAndDrainsTheNewInput) {
  test::TempDir dir("fm-run");
  auto kafka = test::start_kafka({{"in", 2}});
  fs::path f = dir.path() / "rerun.yaml";
  auto topology = [&](const fs::path& out) {
    return "name: rerun\nconfig: {checkpoint.interval.ms: 200, kafka.bootstrap.servers: '" +
           kafka->bootstrap() +
           "'}\n"
           "spouts:\n  - {id: in, class: KafkaSpout, parallelism: 2, args: {topic: in}}\n"
           "bolts:\n  - {id: files, class: FileSink, parallelism: 1, args: {path: " +
           out.string() + "}}\nstreams:\n  - {from: in, to: files}\n";
  };
  const std::map<std::string, std::string> env = {
      {"SLEET_PLUGIN_DIR", std::string(SLEET_BINARY_DIR) + "/plugins"}};
  const std::string state = (dir.path() / "state").string();
  auto first = lines_of(0, 300), second = lines_of(300, 700);
  write_lines(dir.path() / "one.txt", first);
  write_lines(dir.path() / "two.txt", second);

  test::write_file(f, topology(dir.path() / "out1"));
  auto r1 = test::run_command(
      {SLEET_CLI_PATH, "run", f.string(), "--input", "in=" + (dir.path() / "one.txt").string(),
       "--until-drained", "--state-dir", state},
      120s, env);
  ASSERT_EQ(r1.status, 0) << r1.err;
  std::sort(first.begin(), first.end());
  EXPECT_EQ(test::spout_values(dir.path() / "out1"), first);

  test::write_file(f, topology(dir.path() / "out2"));
  auto r2 = test::run_command(
      {SLEET_CLI_PATH, "run", f.string(), "--input", "in=" + (dir.path() / "two.txt").string(),
       "--until-drained", "--input-rate", "400", "--state-dir", state},
      120s, env);
  ASSERT_EQ(r2.status, 0) << r2.err;
  std::sort(second.begin(), second.end());
  EXPECT_EQ(test::spout_values(dir.path() / "out2"), second) << r2.err;
}
