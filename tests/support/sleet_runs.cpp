#include "tests/support/sleet_runs.hpp"

#include <algorithm>

namespace sleet::test {

std::map<std::string, std::string> example_env(const TempDir& dir) {
  return {{"SLEET_PLUGIN_DIR", std::string(SLEET_BINARY_DIR) + "/plugins"},
          {"OUTPUT_DIR", (dir.path() / "out").string()},
          {"CHECKPOINT_INTERVAL_MS", "300"}};
}

std::vector<std::string> spout_values(const std::filesystem::path& out_dir) {
  std::vector<std::string> v;
  for (auto& l : part_file_lines(out_dir)) {
    auto a = l.find('\t');
    auto b = a == std::string::npos ? a : l.find('\t', a + 1);
    v.push_back(a == std::string::npos ? l
                                       : l.substr(a + 1, b == std::string::npos ? b : b - a - 1));
  }
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace sleet::test
