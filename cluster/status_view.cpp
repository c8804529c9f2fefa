#include "cluster/status_view.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "cluster/worker.hpp"

namespace sleet::cluster {

namespace {

using Opt = std::optional<double>;

void add(Opt& sum, Opt v) {
  if (!v) return;
  sum = sum.value_or(0) + *v;
}

std::string dash_or(const Opt& v, const char* fmt, double scale = 1) {
  if (!v) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, *v * scale);
  return buf;
}
std::string count(const Opt& v) {
  return dash_or(v, "%.0f");
}
std::string rate(const Opt& v) {
  return v ? format_rate(*v) + "/s" : "-";
}

std::string bytes(const Opt& v) {
  if (!v) return "-";
  char buf[64];
  if (*v < 1024)
    std::snprintf(buf, sizeof buf, "%.0f B", *v);
  else if (*v < 1024.0 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", *v / 1024);
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", *v / (1024.0 * 1024));
  return buf;
}
std::string seconds(const Opt& v) {
  if (!v) return "-";
  char buf[64];
  if (*v < 1)
    std::snprintf(buf, sizeof buf, "%.1f ms", *v * 1000);
  else
    std::snprintf(buf, sizeof buf, "%.2f s", *v);
  return buf;
}

// A plain text table: header, rows; numbers (columns flagged in `right`) right-aligned.
std::string table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows,
                  const std::vector<bool>& right) {
  std::vector<size_t> w(header.size());
  for (size_t i = 0; i < header.size(); ++i) w[i] = header[i].size();
  for (auto& r : rows)
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out = " ";
    for (size_t i = 0; i < w.size(); ++i) {
      const std::string c = i < cells.size() ? cells[i] : "";
      std::string pad(w[i] - std::min(w[i], c.size()), ' ');
      const bool r = i < right.size() && right[i];
      out += ' ';
      if (r) out += pad;
      out += c;
      if (!r && i + 1 < w.size()) out += pad;
    }
    return out + "\n";
  };
  std::string out = line(header);
  for (auto& r : rows) out += line(r);
  return out;
}

// The documents that were read, leader first (it runs the coordinator: its checkpoint figures
// are the topology's).
std::vector<const JsonValue*> docs_leader_first(const StatusReport& r) {
  std::vector<const JsonValue*> out;
  for (auto& w : r.workers)
    if (w.doc && w.doc->bool_at("leader").value_or(false)) out.push_back(&*w.doc);
  for (auto& w : r.workers)
    if (w.doc && !w.doc->bool_at("leader").value_or(false)) out.push_back(&*w.doc);
  return out;
}

const JsonValue* array_at(const JsonValue& doc, const char* key) {
  const JsonValue* v = doc.get(key);
  return v && v->is_array() ? v : nullptr;
}

// The checkpoints to show: the leader's "checkpoints" list when some worker has one, else the
// last checkpoint of the existing status keys (a one-row history).
JsonValue checkpoints_of(const StatusReport& r) {
  for (const JsonValue* d : docs_leader_first(r))
    // Empty while the metrics refresh (every second) lags the status key last_checkpoint.
    if (const JsonValue* a = array_at(*d, "checkpoints"); a && !a->array.empty()) return *a;
  JsonValue out = JsonValue::new_array();
  auto docs = docs_leader_first(r);
  if (docs.empty()) return out;
  const JsonValue& d = *docs.front();
  auto id = d.number_at("last_checkpoint");
  if (!id || *id <= 0) return out;
  JsonValue c = JsonValue::new_object();
  c.set("id", JsonValue::of(*id));
  auto ms = d.number_at("last_checkpoint_ms");
  c.set("duration_seconds", ms ? JsonValue::of(*ms / 1000) : JsonValue{});
  auto b = d.number_at("last_checkpoint_bytes");
  c.set("bytes", b ? JsonValue::of(*b) : JsonValue{});
  auto age = d.number_at("last_checkpoint_age_s");
  c.set("age_seconds", age && *age >= 0 ? JsonValue::of(*age) : JsonValue{});
  c.set("outcome", JsonValue::of("completed"));
  c.set("reason", JsonValue::of(""));
  out.push(std::move(c));
  return out;
}

// Every worker's entries of an array key, concatenated (restarts, partitions); an entry two
// workers both report is kept once.
JsonValue concat(const StatusReport& r, const char* key) {
  JsonValue out = JsonValue::new_array();
  std::vector<std::string> seen;
  for (auto& w : r.workers)
    if (w.doc)
      if (const JsonValue* a = array_at(*w.doc, key))
        for (auto& e : a->array) {
          std::string text = write_json(e);
          if (std::find(seen.begin(), seen.end(), text) != seen.end()) continue;
          seen.push_back(std::move(text));
          out.push(e);
        }
  return out;
}

std::string str(const JsonValue& o, const char* key) {
  if (const JsonValue* v = o.get(key)) {
    if (v->is_string()) return v->string;
    if (v->is_number()) return count(v->number);
  }
  return "-";
}

JsonValue opt_json(const Opt& v) {
  return v ? JsonValue::of(*v) : JsonValue{};
}

}  // namespace

std::string iso_utc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<ComponentRow> merge_components(const StatusReport& r) {
  std::vector<ComponentRow> rows;
  std::map<std::string, size_t> index;
  std::map<std::string, std::pair<double, double>> bp;  // id -> (share * tasks, tasks)
  for (auto& w : r.workers) {
    if (!w.doc) continue;
    const JsonValue* comps = array_at(*w.doc, "components");
    if (!comps) continue;
    for (auto& c : comps->array) {
      auto id = c.string_at("id");
      if (!id) continue;
      auto [it, fresh] = index.emplace(*id, rows.size());
      if (fresh) {
        rows.push_back({});
        rows.back().id = *id;
        rows.back().kind = c.string_at("kind").value_or("-");
      }
      ComponentRow& row = rows[it->second];
      add(row.tasks, c.number_at("tasks"));
      add(row.tuples_in, c.number_at("tuples_in"));
      add(row.tuples_out, c.number_at("tuples_out"));
      add(row.rate_in, c.number_at("rate_in"));
      add(row.rate_out, c.number_at("rate_out"));
      add(row.lag, c.number_at("lag"));
      add(row.skipped, c.number_at("skipped"));
      add(row.dead_lettered, c.number_at("dead_lettered"));
      add(row.failed, c.number_at("failed"));
      if (auto p = c.number_at("execute_p99_seconds"))
        row.p99_s = std::max(row.p99_s.value_or(0), *p);
      add(row.sink_pending, c.number_at("sink_epochs_pending"));
      add(row.sink_published, c.number_at("sink_epochs_published"));
      if (auto p = c.number_at("sink_publish_p99_seconds"))
        row.sink_publish_p99_s = std::max(row.sink_publish_p99_s.value_or(0), *p);
      if (auto s = c.number_at("backpressure_share")) {
        double t = std::max(1.0, c.number_at("tasks").value_or(1));
        bp[*id].first += *s * t;
        bp[*id].second += t;
      }
    }
  }
  for (auto& row : rows)
    if (auto it = bp.find(row.id); it != bp.end() && it->second.second > 0)
      row.backpressure = it->second.first / it->second.second;
  return rows;
}

void CheckpointTally::observe(const std::string& status_json) {
  if (status_json.empty()) return;
  auto doc = parse_json(status_json);
  if (!doc.ok()) return;
  if (const JsonValue* a = array_at(*doc, "checkpoints")) {
    for (auto& c : a->array) {
      auto id = c.number_at("id");
      if (!id || c.string_at("outcome").value_or("completed") != "completed") continue;
      by_id_[static_cast<int64_t>(*id)] = {c.number_at("duration_seconds"), c.number_at("bytes")};
    }
    return;
  }
  auto id = doc->number_at("last_checkpoint");
  if (!id || *id <= 0) return;
  Seen s;
  if (auto ms = doc->number_at("last_checkpoint_ms")) s.seconds = *ms / 1000;
  s.bytes = doc->number_at("last_checkpoint_bytes");
  by_id_[static_cast<int64_t>(*id)] = s;
}

namespace {

// The q-quantile (nearest rank) of `v`, sorted here.
std::optional<double> quantile(std::vector<double> v, double q) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace

std::string CheckpointTally::summary() const {
  if (by_id_.empty()) return "checkpoints: none completed";
  std::vector<double> secs, sizes;
  double total = 0;
  for (auto& [id, s] : by_id_) {
    if (s.seconds) secs.push_back(*s.seconds);
    if (s.bytes) {
      sizes.push_back(*s.bytes);
      total += *s.bytes;
    }
  }
  std::string out =
      "checkpoints: " + std::to_string(by_id_.size()) + " seen (ids " +
      std::to_string(by_id_.begin()->first) + ".." + std::to_string(by_id_.rbegin()->first) +
      "); duration p50 " + seconds(quantile(secs, 0.5)) + ", p99 " + seconds(quantile(secs, 0.99)) +
      "; size p50 " + bytes(quantile(sizes, 0.5)) + ", max " + bytes(quantile(sizes, 1.0)) + ", " +
      bytes(sizes.empty() ? Opt{} : total) + " in all";
  return out;
}

std::vector<std::string> component_summary(const StatusReport& r) {
  std::vector<std::string> out;
  for (auto& c : merge_components(r)) {
    std::string line = "component " + c.id + " (" + c.kind + ", " + count(c.tasks) +
                       " task(s)): in " + count(c.tuples_in) + ", out " + count(c.tuples_out) +
                       ", p99 execute " + seconds(c.p99_s) + ", back-pressure " +
                       dash_or(c.backpressure, "%.0f%%", 100);
    if (c.skipped.value_or(0) > 0 || c.dead_lettered.value_or(0) > 0 || c.failed.value_or(0) > 0)
      line += ", skipped " + count(c.skipped) + ", dead-lettered " + count(c.dead_lettered) +
              ", failed " + count(c.failed);
    out.push_back(std::move(line));
  }
  if (!out.empty()) return out;
  Opt in, outs, skipped;
  for (auto& w : r.workers)
    if (w.doc) {
      add(in, w.doc->number_at("records_in"));
      add(outs, w.doc->number_at("records_out"));
      add(skipped, w.doc->number_at("skipped"));
    }
  if (in || outs)
    out.push_back("totals: spouts emitted " + count(in) + ", sinks received " + count(outs) +
                  ", skipped " + count(skipped) + " (no per-component figures in the status)");
  return out;
}

StateDirRun decide_state_dir_run(bool lock_held, std::time_t lock_mtime,
                                 const std::vector<StatusFileSeen>& files) {
  StateDirRun run;
  run.live = lock_held;
  run.started = lock_mtime;
  for (auto& f : files) {
    // Written before this run took the lock: an earlier run's file.
    if (lock_mtime == 0 || f.mtime < lock_mtime) continue;
    run.files.push_back(f.path);
    run.stopped_at = std::max(run.stopped_at, f.mtime);
  }
  if (run.live) run.stopped_at = 0;
  return run;
}

JsonValue status_json(const StatusReport& r) {
  JsonValue o = JsonValue::new_object();
  o.set("topology", JsonValue::of(r.topology));
  o.set("state", JsonValue::of(r.state));
  o.set("final", JsonValue::of(r.state != "running"));
  o.set("source", JsonValue::of(r.source));
  o.set("where", JsonValue::of(r.where));
  o.set("stopped_at", r.stopped_at ? JsonValue::of(iso_utc(r.stopped_at)) : JsonValue{});
  o.set("committed_checkpoint", r.committed_checkpoint
                                    ? JsonValue::of(static_cast<double>(*r.committed_checkpoint))
                                    : JsonValue{});
  JsonValue workers = JsonValue::new_array();
  Opt in, out, in_rate, out_rate, skipped, aborted;
  JsonValue failures = JsonValue::new_array();
  for (auto& w : r.workers) {
    JsonValue j = JsonValue::new_object();
    j.set("id", JsonValue::of(w.id));
    j.set("source", JsonValue::of(w.source));
    j.set("metrics", w.metrics.empty() ? JsonValue{} : JsonValue::of(w.metrics));
    j.set("pid", w.doc ? opt_json(w.doc->number_at("pid")) : JsonValue{});
    j.set("error", w.error.empty() ? JsonValue{} : JsonValue::of(w.error));
    j.set("status", w.doc ? *w.doc : JsonValue{});
    workers.push(std::move(j));
    if (!w.doc) continue;
    add(in, w.doc->number_at("records_in"));
    add(out, w.doc->number_at("records_out"));
    add(in_rate, w.doc->number_at("in_rate"));
    add(out_rate, w.doc->number_at("out_rate"));
    add(skipped, w.doc->number_at("skipped"));
    add(aborted, w.doc->number_at("aborted"));
    if (auto f = w.doc->string_at("failure"); f && !f->empty()) {
      JsonValue e = JsonValue::new_object();
      e.set("worker", JsonValue::of(w.id));
      e.set("failure", JsonValue::of(*f));
      failures.push(std::move(e));
    }
  }
  o.set("workers", std::move(workers));
  JsonValue totals = JsonValue::new_object();
  totals.set("records_in", opt_json(in));
  totals.set("records_out", opt_json(out));
  totals.set("in_rate", opt_json(in_rate));
  totals.set("out_rate", opt_json(out_rate));
  totals.set("skipped", opt_json(skipped));
  totals.set("aborted_checkpoints", opt_json(aborted));
  o.set("totals", std::move(totals));
  JsonValue comps = JsonValue::new_array();
  for (auto& row : merge_components(r)) {
    JsonValue c = JsonValue::new_object();
    c.set("id", JsonValue::of(row.id));
    c.set("kind", JsonValue::of(row.kind));
    c.set("tasks", opt_json(row.tasks));
    c.set("tuples_in", opt_json(row.tuples_in));
    c.set("tuples_out", opt_json(row.tuples_out));
    c.set("rate_in", opt_json(row.rate_in));
    c.set("rate_out", opt_json(row.rate_out));
    c.set("execute_p99_seconds", opt_json(row.p99_s));
    c.set("backpressure_share", opt_json(row.backpressure));
    c.set("lag", opt_json(row.lag));
    c.set("skipped", opt_json(row.skipped));
    c.set("dead_lettered", opt_json(row.dead_lettered));
    c.set("failed", opt_json(row.failed));
    c.set("sink_epochs_pending", opt_json(row.sink_pending));
    c.set("sink_epochs_published", opt_json(row.sink_published));
    c.set("sink_publish_p99_seconds", opt_json(row.sink_publish_p99_s));
    JsonValue tasks = JsonValue::new_array();
    for (auto& w : r.workers)
      if (w.doc)
        if (const JsonValue* a = array_at(*w.doc, "components"))
          for (auto& wc : a->array)
            if (wc.string_at("id") == row.id)
              if (const JsonValue* tl = array_at(wc, "task_list"))
                for (auto& t : tl->array) tasks.push(t);
    c.set("task_list", std::move(tasks));
    comps.push(std::move(c));
  }
  o.set("components", std::move(comps));
  o.set("checkpoints", checkpoints_of(r));
  o.set("restarts", concat(r, "restarts"));
  o.set("partitions", concat(r, "partitions"));
  o.set("failures", std::move(failures));
  return o;
}

std::string render_status(const StatusReport& r, std::time_t now) {
  std::string out;
  const size_t n = r.workers.size();
  const std::string where = r.source == "zookeeper" ? "ZooKeeper " + r.where : r.where;
  if (r.state == "running") {
    out += "topology " + r.topology + ": running (" + where + "), " + std::to_string(n) +
           " worker(s)\n";
  } else {
    out += "topology " + r.topology + ": STOPPED";
    if (r.stopped_at) {
      out += " at " + iso_utc(r.stopped_at);
      if (now >= r.stopped_at) out += " (" + std::to_string(now - r.stopped_at) + " s ago)";
    }
    out += " (" + where + "); the figures below are FINAL, as the run last wrote them\n";
  }
  if (r.source == "zookeeper" && r.workers.empty())
    out +=
        "no live worker is registered in ZooKeeper (a `sleet run` without --workers registers "
        "none: ask it with --state-dir)\n";
  const JsonValue j = status_json(r);

  const JsonValue& totals = *j.get("totals");
  out += "\ntotals: records in " + count(totals.number_at("records_in")) + ", out " +
         count(totals.number_at("records_out")) + "; rate in " + rate(totals.number_at("in_rate")) +
         ", out " + rate(totals.number_at("out_rate")) + "; skipped " +
         count(totals.number_at("skipped")) + "\n";

  out += "\ncomponents\n";
  const JsonValue& comps = *j.get("components");
  if (comps.array.empty()) {
    out += "  - (no per-component figures in the workers' status)\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (auto& c : comps.array)
      rows.push_back({str(c, "id"), str(c, "kind"), count(c.number_at("tasks")),
                      rate(c.number_at("rate_in")), rate(c.number_at("rate_out")),
                      seconds(c.number_at("execute_p99_seconds")),
                      dash_or(c.number_at("backpressure_share"), "%.0f%%", 100),
                      count(c.number_at("lag")), count(c.number_at("tuples_in")),
                      count(c.number_at("tuples_out")), count(c.number_at("skipped")),
                      count(c.number_at("dead_lettered")), count(c.number_at("failed"))});
    out += table({"COMPONENT", "KIND", "TASKS", "RATE IN", "RATE OUT", "P99 EXEC", "BACKPR", "LAG",
                  "IN", "OUT", "SKIPPED", "DEAD-LET", "FAILED"},
                 rows,
                 {false, false, true, true, true, true, true, true, true, true, true, true, true});
  }

  // Sinks that report epochs (exactly-once FileSink and KafkaSink); a section of its own, so the
  // components table does not grow wider.
  std::vector<std::vector<std::string>> sink_rows;
  for (auto& c : comps.array)
    if (c.number_at("sink_epochs_published"))
      sink_rows.push_back({str(c, "id"), count(c.number_at("tasks")),
                           count(c.number_at("sink_epochs_pending")),
                           count(c.number_at("sink_epochs_published")),
                           seconds(c.number_at("sink_publish_p99_seconds"))});
  if (!sink_rows.empty()) {
    out += "\nsinks (epochs: pending = pre-committed, not yet visible)\n";
    out += table({"SINK", "TASKS", "PENDING", "PUBLISHED", "P99 PUBLISH"}, sink_rows,
                 {false, true, true, true, true});
  }

  out += "\ncheckpoints (newest first)";
  if (r.committed_checkpoint)
    out += "; committed in ZooKeeper: " + std::to_string(*r.committed_checkpoint);
  out += "\n";
  const JsonValue& cps = *j.get("checkpoints");
  if (cps.array.empty()) {
    out += "  - (none yet)\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (auto& c : cps.array)
      rows.push_back({str(c, "id"), seconds(c.number_at("duration_seconds")),
                      bytes(c.number_at("bytes")), dash_or(c.number_at("age_seconds"), "%.1f s"),
                      str(c, "outcome"), c.string_at("reason").value_or("")});
    out += table({"ID", "DURATION", "SIZE", "AGE", "OUTCOME", "REASON"}, rows,
                 {true, true, true, true, false, false});
  }

  out += "\nrestarts\n";
  bool any_doc = false;
  bool restarts_known = false;
  for (auto& w : r.workers)
    if (w.doc) {
      any_doc = true;
      restarts_known = restarts_known || array_at(*w.doc, "restarts");
    }
  const JsonValue& rs = *j.get("restarts");
  if (!restarts_known) {
    out += "  - (not in the workers' status)\n";
  } else if (rs.array.empty()) {
    out += "  none\n";
  } else {
    for (auto& e : rs.array) out += "  " + str(e, "at") + "  " + str(e, "reason") + "\n";
  }

  out += "\nfailures\n";
  std::string failures;
  for (auto& w : r.workers) {
    if (!w.doc) {
      failures += "  " + w.id + ": no status (" + w.error + ")\n";
      continue;
    }
    if (auto f = w.doc->string_at("failure"); f && !f->empty())
      failures += "  " + w.id + " failed: " + *f + "\n";
    if (auto a = w.doc->number_at("aborted"); a && *a > 0)
      failures += "  " + w.id + ": " + count(a) + " checkpoint(s) aborted, the last because: " +
                  w.doc->string_at("last_abort_reason").value_or("-") + "\n";
    for (auto& [id, e] : status_errors(write_json(*w.doc)))
      failures += "  " + id + ": " + std::to_string(e.skipped) + " tuple(s) skipped by on_error, " +
                  std::to_string(e.dead_lettered) + " dead-lettered\n";
  }
  out += failures.empty() ? (any_doc ? "  none\n" : "  -\n") : failures;

  out += "\ntasks (where each runs)\n";
  std::vector<std::vector<std::string>> task_rows;
  for (auto& c : comps.array)
    if (const JsonValue* tl = c.get("task_list"))
      for (auto& t : tl->array)
        task_rows.push_back({str(c, "id"), str(t, "task"), str(t, "worker"),
                             count(t.number_at("tuples_in")), count(t.number_at("tuples_out")),
                             count(t.number_at("queue_depth"))});
  if (!task_rows.empty()) {
    out += table({"COMPONENT", "TASK", "WORKER", "IN", "OUT", "QUEUE"}, task_rows,
                 {false, true, false, true, true, true});
  } else {
    std::vector<std::vector<std::string>> rows;
    for (auto& w : r.workers)
      rows.push_back({w.id, w.doc ? count(w.doc->number_at("pid")) : "-",
                      w.doc ? count(w.doc->number_at("local_tasks")) : "-",
                      w.doc ? w.doc->string_at("cluster_state").value_or("-") : "-",
                      w.metrics.empty() ? "-" : w.metrics, w.source});
    out += table({"WORKER", "PID", "TASKS", "STATE", "METRICS", "STATUS FROM"}, rows,
                 {false, true, true, false, false, false});
  }

  const JsonValue& parts = *j.get("partitions");
  if (!parts.array.empty()) {
    out += "\npartitions\n";
    std::vector<std::vector<std::string>> rows;
    for (auto& p : parts.array)
      rows.push_back({str(p, "component"), str(p, "topic"), str(p, "partition"),
                      str(p, "next_offset"), str(p, "high_watermark"), str(p, "lag")});
    out += table({"COMPONENT", "TOPIC", "PARTITION", "NEXT", "HIGH WATERMARK", "LAG"}, rows,
                 {false, false, true, true, true, true});
  }
  return out;
}

}  // namespace sleet::cluster
