// Small text helpers for diagnostics: "did you mean" suggestions and lists. Internal to
// topology_dsl; pure functions, callable from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sleet::dsl {

// Case-insensitive Levenshtein distance.
size_t edit_distance(std::string_view a, std::string_view b);

// The closest of `known` within a small distance (scaled by the word's length), else "".
std::string closest(std::string_view word, const std::vector<std::string>& known);

// " (did you mean 'x'?)" for closest(word, known), else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& known);
// The same for a suggestion already found (closest()'s result; "" gives "").
std::string did_you_mean_text(const std::string& best);

// "a, b, c"
std::string join(const std::vector<std::string>& items, std::string_view sep = ", ");

// join() of at most `max` items, then "... (N in all)": keeps messages readable for big graphs.
std::string join_some(const std::vector<std::string>& items, size_t max = 30);

// Letters, digits, '_', '-', '.', not starting with '.' or '-': safe in file names and znode paths.
bool is_plain_name(std::string_view s);

}  // namespace sleet::dsl
