// Helpers for tests that run the `sleet` executable on the examples and read what its FileSinks
// wrote. Threading: any thread (no shared state).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tests/support/support.hpp"

namespace sleet::test {

// The environment the examples' topology files read (examples/*/*.yaml): plugins from the build's
// plugins/ dir, FileSink output under <dir>/out, checkpoints every 300 ms.
std::map<std::string, std::string> example_env(const TempDir& dir);

// The value column (the second, after the key) of the KafkaSpout tuples a tsv FileSink wrote to
// `out_dir` (a line without a tab counts whole), sorted.
std::vector<std::string> spout_values(const std::filesystem::path& out_dir);

}  // namespace sleet::test
