#include "tests/support/sleet_runs.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

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

std::map<std::string, std::vector<int64_t>> part_file_counts(const std::filesystem::path& dir) {
  std::map<std::string, std::vector<int64_t>> counts;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("part-", 0) != 0) continue;
    std::istringstream is(read_file(e.path()));
    std::string k;
    int64_t c;
    while (is >> k >> c) counts[k].push_back(c);
  }
  return counts;
}

std::map<std::string, int64_t> awk_word_counts(const std::filesystem::path& file) {
  auto r = run_command(
      {"awk", "{for(i=1;i<=NF;i++)c[$i]++} END{for(w in c) print w, c[w]}", file.string()},
      std::chrono::seconds(30));
  EXPECT_EQ(r.status, 0) << r.err;
  std::map<std::string, int64_t> m;
  std::istringstream is(r.out);
  std::string w;
  int64_t c;
  while (is >> w >> c) m[w] = c;
  return m;
}

}  // namespace sleet::test
