// Helpers for tests that run the `sleet` executable on the examples and read what its FileSinks
// wrote. Threading: any thread (no shared state).
#pragma once

#include <cstdint>
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

// Key -> every count of the "key<TAB>count" records (WordCount's running counts and the like)
// in the part-* files a FileSink wrote to `dir`, in no particular order (part files are per epoch
// and task). Throws std::filesystem::filesystem_error when `dir` does not exist.
std::map<std::string, std::vector<int64_t>> part_file_counts(const std::filesystem::path& dir);

// Word -> occurrences over the whitespace-separated words of `file`, computed by awk: an
// expectation that shares nothing with Sleet or the test's own parsing. A test failure (with
// awk's stderr) when awk does not exit 0 within 30 s.
std::map<std::string, int64_t> awk_word_counts(const std::filesystem::path& file);

}  // namespace sleet::test
