#include "cluster/drain_check.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "cluster/worker.hpp"
#include "kafka/kafka.hpp"

namespace sleet::cluster {

std::map<std::string, int64_t> parse_positions(const std::string& status_json) {
  std::map<std::string, int64_t> out;
  const std::string tag = "\"positions\":\"";
  auto at = status_json.find(tag);
  if (at == std::string::npos) return out;
  at += tag.size();
  auto end = status_json.find('"', at);
  if (end == std::string::npos) return out;
  std::string list = status_json.substr(at, end - at);
  size_t i = 0;
  while (i < list.size()) {
    size_t comma = list.find(',', i);
    if (comma == std::string::npos) comma = list.size();
    std::string item = list.substr(i, comma - i);
    auto eq = item.rfind('=');
    if (eq != std::string::npos && eq > 0)
      out[item.substr(0, eq)] = std::strtoll(item.c_str() + eq + 1, nullptr, 10);
    i = comma + 1;
  }
  return out;
}

bool is_drained(const DrainFacts& f, std::string* why_not) {
  auto no = [&](std::string why) {
    if (why_not) *why_not = std::move(why);
    return false;
  };
  if (!f.loading_done) return no("input still loading");
  if (f.status.empty()) return no("no status from the worker yet");
  if (static_cast<pid_t>(status_number(f.status, "pid")) != f.worker_pid || f.worker_pid == 0)
    return no("the status file is not the current worker's");
  auto cp = static_cast<int64_t>(status_number(f.status, "last_checkpoint"));
  if (cp <= 0) return no("no checkpoint committed yet");
  if (status_number(f.status, "drained") <= 0) return no("spouts not at the end of their input");
  if (static_cast<int64_t>(status_number(f.status, "visible")) < cp)
    return no("checkpoint " + std::to_string(cp) + " not visible yet");
  auto positions = parse_positions(f.status);
  for (auto& [tp, end] : f.final_ends) {
    auto it = positions.find(tp);
    int64_t at = it == positions.end() ? 0 : it->second;
    if (at < end)
      return no(tp + " committed at " + std::to_string(at) + " of " + std::to_string(end));
  }
  return true;
}

std::vector<Drop> losses(const std::map<std::string, int64_t>& log_starts,
                         const std::map<std::string, int64_t>& committed,
                         const std::vector<std::string>& read_by_spout) {
  std::vector<Drop> out;
  for (auto& [tp, start] : log_starts) {
    if (start <= 0) continue;
    auto colon = tp.rfind(':');
    Drop d;
    d.topic = tp.substr(0, colon);
    d.partition = static_cast<int32_t>(std::strtol(tp.c_str() + colon + 1, nullptr, 10));
    d.log_start = start;
    bool read =
        std::find(read_by_spout.begin(), read_by_spout.end(), d.topic) != read_by_spout.end();
    if (read) {
      auto it = committed.find(tp);
      int64_t at = it == committed.end() ? 0 : it->second;
      d.lost = std::max<int64_t>(0, start - at);
    } else {
      d.lost = start;
    }
    if (d.lost > 0) out.push_back(d);
  }
  return out;
}

std::string drop_way_out() {
  return "the embedded Kafka keeps only about 5 MiB per partition; give the topic more "
         "partitions (topics: partitions:) or run against an external Kafka "
         "(kafka.bootstrap.servers)";
}

RetentionWatch::RetentionWatch(std::string bootstrap,
                               std::map<std::string, std::vector<int32_t>> topics,
                               std::chrono::milliseconds interval)
    : bootstrap_(std::move(bootstrap)), topics_(std::move(topics)), interval_(interval) {
  thread_ = std::thread([this] { run(); });
}

RetentionWatch::~RetentionWatch() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::map<std::string, int64_t> RetentionWatch::log_starts() const {
  std::lock_guard lk(mu_);
  return starts_;
}

void RetentionWatch::run() {
  auto rk =
      kafka::make_consumer({{"bootstrap.servers", bootstrap_}, {"broker.address.family", "v4"}});
  if (!rk.ok()) {
    spdlog::warn("cannot watch the embedded Kafka for dropped records: {}", rk.status().message());
    return;
  }
  std::unique_lock lk(mu_);
  while (!stop_) {
    lk.unlock();
    std::map<std::string, int64_t> seen;
    for (auto& [topic, parts] : topics_) {
      auto low = kafka::offsets_at(rk->get(), topic, parts, RD_KAFKA_OFFSET_BEGINNING,
                                   std::chrono::seconds(2));
      if (!low.ok()) continue;  // next round; a busy broker is not a drop
      for (auto& [p, off] : *low) seen[topic + ":" + std::to_string(p)] = off;
    }
    lk.lock();
    for (auto& [k, v] : seen) starts_[k] = std::max(starts_[k], v);
    cv_.wait_for(lk, interval_, [this] { return stop_; });
  }
}

}  // namespace sleet::cluster
