#include "cluster/live_line.hpp"

#include <algorithm>
#include <cstdio>

#include "cluster/worker.hpp"

namespace sleet::cluster {

size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

namespace {

// The first `width` code points of `s`.
std::string cut(const std::string& s, size_t width) {
  size_t n = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (n == width) break;
      ++n;
    }
  }
  return s.substr(0, i);
}

struct Shown {
  const LiveField* field;
  size_t form = 0;
  bool dropped = false;
};

std::string join(const std::vector<Shown>& shown) {
  std::string out;
  for (auto& s : shown) {
    if (s.dropped) continue;
    if (!out.empty()) out += " | ";
    out += s.field->forms[s.form];
  }
  return out;
}

}  // namespace

std::string fit_live_line(const std::vector<LiveField>& fields, size_t width) {
  std::vector<Shown> shown;
  int max_priority = 0;
  for (auto& f : fields)
    if (!f.forms.empty()) {
      shown.push_back({&f});
      max_priority = std::max(max_priority, f.priority);
    }
  std::string line = join(shown);
  if (width == 0 || display_width(line) <= width) return line;
  // Shorten, least important first; rightmost first among equals.
  for (int p = max_priority; p >= 0; --p)
    for (auto it = shown.rbegin(); it != shown.rend(); ++it) {
      if (it->field->priority != p) continue;
      while (it->form + 1 < it->field->forms.size()) {
        ++it->form;
        line = join(shown);
        if (display_width(line) <= width) return line;
      }
    }
  // Drop, least important first; priority 0 stays.
  for (int p = max_priority; p >= 1; --p)
    for (auto it = shown.rbegin(); it != shown.rend(); ++it) {
      if (it->field->priority != p) continue;
      it->dropped = true;
      line = join(shown);
      if (display_width(line) <= width) return line;
    }
  return cut(line, width);
}

std::vector<LiveField> live_fields(const std::string& topology, const LiveStatus& l,
                                   const std::string& workers, size_t n_workers) {
  const std::string& status = l.status;
  // N workers: rates summed over their own statuses; checkpoint figures are the leader's.
  double in_rate = status_number(status, "in_rate"), out_rate = status_number(status, "out_rate");
  if (l.workers.size() > 1) {
    in_rate = out_rate = 0;
    for (auto& w : l.workers) {
      in_rate += status_number(w.status, "in_rate");
      out_rate += status_number(w.status, "out_rate");
    }
  }
  auto num = [](long long v) { return std::to_string(v); };
  std::vector<LiveField> f;
  std::string short_name = display_width(topology) > 16 ? cut(topology, 15) + "~" : topology;
  f.push_back({"topology", 3, {topology, short_name}});
  char elapsed[32];
  std::snprintf(elapsed, sizeof elapsed, "%5.1fs", l.elapsed_s);
  f.push_back({"elapsed", 2, {elapsed}});
  const std::string in = format_rate(in_rate), out = format_rate(out_rate);
  f.push_back({"rates", 0, {"in " + in + "/s out " + out + "/s", "in " + in + " out " + out}});
  // Lag: loaded records the last committed checkpoint does not cover yet.
  const auto lag = static_cast<long long>(std::max<double>(
      0, static_cast<double>(l.loaded) - status_number(status, "committed_offsets")));
  f.push_back({"lag", 2, {"lag " + num(lag) + " of " + num(l.loaded), "lag " + num(lag)}});
  const auto cp = static_cast<long long>(status_number(status, "last_checkpoint"));
  if (cp > 0) {
    char age[32];
    std::snprintf(age, sizeof age, "%.1fs", status_number(status, "last_checkpoint_age_s"));
    const auto ms = static_cast<long long>(status_number(status, "last_checkpoint_ms"));
    f.push_back({"checkpoint",
                 1,
                 {"checkpoint " + num(cp) + " (" + num(ms) + " ms, age " + age + ")",
                  "cp " + num(cp) + " age " + age, "cp " + num(cp)}});
  } else {
    f.push_back({"checkpoint", 1, {"no checkpoint yet", "no cp"}});
  }
  if (l.aborts_seen > 0)
    f.push_back({"aborted", 1, {"aborted " + num(l.aborts_seen), "abt " + num(l.aborts_seen)}});
  // A restart is news: kept longer than a steady "restarts 0".
  f.push_back({"restarts",
               l.restarts > 0 ? 1 : 4,
               {"restarts " + num(l.restarts), "rst " + num(l.restarts)}});
  if (l.zk_restarts > 0)
    f.push_back({"zookeeper",
                 1,
                 {"ZooKeeper restarts " + num(l.zk_restarts), "zk rst " + num(l.zk_restarts)}});
  if (l.lost_total > 0)
    f.push_back({"dropped",
                 0,
                 {"DROPPED " + num(l.lost_total) + " records", "DROPPED " + num(l.lost_total)}});
  if (n_workers > 1 && !workers.empty()) {
    const auto g = static_cast<long long>(status_number(status, "generation"));
    std::string gen = g > 0 ? " | generation " + num(g) : "";
    f.push_back({"workers",
                 5,
                 {workers + gen, num(static_cast<long long>(n_workers)) + " workers" +
                                     (g > 0 ? " gen " + num(g) : "")}});
  }
  return f;
}

}  // namespace sleet::cluster
