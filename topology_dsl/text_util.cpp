#include "topology_dsl/text_util.hpp"

#include <algorithm>
#include <cctype>

namespace sleet::dsl {

size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus adjacent transpositions ("wrod" -> "word" is 1).
  auto lower = [](char c) { return std::tolower(static_cast<unsigned char>(c)); };
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1,
                         prev[j - 1] + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1)});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1]))
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest(std::string_view word, const std::vector<std::string>& known) {
  // Long words tolerate more typos; comparing a 1000-character key against every known name is
  // pointless, so skip the work for anything much longer than the names themselves.
  if (word.empty() || word.size() > 64) return "";
  const size_t limit = word.size() <= 4 ? 1 : word.size() <= 8 ? 2 : 3;
  const std::string* best = nullptr;
  size_t best_d = limit + 1;
  for (auto& k : known) {
    // The distance is at least the difference in length, so a name that much longer or shorter
    // cannot be suggested. Skipping it matters: `known` may hold user-written ids of any length,
    // and a file of aliased streams (*s, *s, ...) asks for a suggestion once per stream (corpus
    // timeout-aliased-streams-long-id.yaml).
    const size_t diff = k.size() > word.size() ? k.size() - word.size() : word.size() - k.size();
    if (diff > limit) continue;
    size_t d = edit_distance(word, k);
    if (d < best_d && d > 0) {
      best_d = d;
      best = &k;
    } else if (d == 0 && k != word) {  // differs only in case
      best_d = 0;
      best = &k;
    }
  }
  return best ? *best : std::string();
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& known) {
  return did_you_mean_text(closest(word, known));
}

std::string did_you_mean_text(const std::string& best) {
  return best.empty() ? best : " (did you mean '" + best + "'?)";
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) s += sep;
    s += items[i];
  }
  return s;
}

std::string join_some(const std::vector<std::string>& items, size_t max) {
  if (items.size() <= max) return join(items);
  std::vector<std::string> head(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(max));
  return join(head) + ", ... (" + std::to_string(items.size()) + " in all)";
}

bool is_plain_name(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

}  // namespace sleet::dsl
