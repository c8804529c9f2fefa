#include "cluster/input_loader.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "cluster/drain_check.hpp"
#include "core/format.hpp"
#include "kafka/kafka.hpp"

namespace sleet::cluster {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

InputLine split_input_line(std::string_view line) {
  const auto tab = line.find('\t');
  if (tab == std::string_view::npos) return {"", tsv_unescape(line)};
  return {tsv_unescape(line.substr(0, tab)), tsv_unescape(line.substr(tab + 1))};
}

void PartitionLedger::produced(int64_t bytes) {
  sizes_.push_back(bytes);
  bytes_ += bytes;
}

void PartitionLedger::committed(int64_t next_offset) {
  while (!sizes_.empty() && base_ < next_offset) {
    bytes_ -= sizes_.front();
    sizes_.pop_front();
    ++base_;
  }
  if (sizes_.empty() && base_ < next_offset) base_ = next_offset;
}

bool PartitionLedger::has_room(int64_t bytes, const BacklogBudget& b) const {
  if (sizes_.empty()) return true;
  return backlog_records() + 1 <= b.max_records && bytes_ + bytes <= b.max_bytes;
}

int64_t records_due(double elapsed_s, double rate) {
  if (rate <= 0) return INT64_MAX;
  if (elapsed_s < 0) elapsed_s = 0;
  return static_cast<int64_t>(std::floor(elapsed_s * rate)) + 1;
}

double due_at(int64_t index, double rate) {
  return rate <= 0 ? 0 : static_cast<double>(index) / rate;
}

namespace {

// The producer's own limit (librdkafka's message.max.bytes default, which the mock broker shares).
constexpr int64_t kMaxRecordBytes = 1'000'000;

std::string key_of(const std::string& topic, int32_t partition) {
  return topic + ":" + std::to_string(partition);
}

}  // namespace

Result<int64_t> load_file(const LoadOptions& o, LoadProgress& progress,
                          const std::atomic<bool>& cancel) {
  std::ifstream in(o.file);
  if (!in) return Status::NotFound("cannot read input file " + o.file.string());
  if (o.partitions.empty()) return Status::NotFound("topic " + o.topic + " has no partitions");
  kafka::DeliveryTracker tracker;
  auto producer = kafka::make_producer({{"bootstrap.servers", o.bootstrap},
                                        {"linger.ms", "5"},
                                        {"batch.num.messages", "10000"},
                                        {"broker.address.family", "v4"}},
                                       true, &tracker);
  if (!producer.ok()) return producer.status();
  rd_kafka_t* rk = producer->get();
  // The topic exists (run() checked): knowing it up front keeps librdkafka 2.0.2 from holding the
  // first records until its 1 s metadata timer fires.
  if (auto known = kafka::partitions_of(rk, o.topic, std::chrono::seconds(10)); !known.ok())
    return known.status();
  kafka::Topic rkt(rd_kafka_topic_new(rk, o.topic.c_str(), nullptr));
  std::map<int32_t, PartitionLedger> ledgers;
  if (o.committed) {
    auto ends = kafka::end_offsets(rk, o.topic, std::chrono::seconds(10));
    if (!ends.ok()) return ends.status().with_context("reading the end offsets of " + o.topic);
    for (int32_t p : o.partitions)
      ledgers.emplace(p, PartitionLedger(ends->count(p) ? ends->at(p) : 0));
  }
  const auto t0 = Clock::now();
  std::string line;
  int64_t n = 0, line_no = 0;
  while (!cancel.load() && std::getline(in, line)) {
    ++line_no;
    auto [key, value] = split_input_line(line);
    line = std::move(value);
    const int64_t bytes = static_cast<int64_t>(key.size() + line.size());
    if (bytes > kMaxRecordBytes)
      return Status::Invalid(o.file.string() + ":" + std::to_string(line_no) + ": a record of " +
                             std::to_string(bytes) + " bytes is larger than Kafka's " +
                             std::to_string(kMaxRecordBytes) +
                             "-byte message limit (message.max.bytes); split the line");
    // The partition is chosen here, not by librdkafka, so the ledger knows where each record goes;
    // for keys it is the same consistent hash as librdkafka's default partitioner.
    int32_t part = key.empty()
                       ? o.partitions[static_cast<size_t>(n) % o.partitions.size()]
                       : o.partitions[static_cast<size_t>(rd_kafka_msg_partitioner_consistent(
                             rkt.get(), key.data(), key.size(),
                             static_cast<int32_t>(o.partitions.size()), nullptr, nullptr))];
    if (o.rate > 0) {
      // Pace by the clock: at high rates many records are due per wake-up, and linger.ms batches
      // them; nothing waits for a flush.
      double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
      if (n >= records_due(elapsed, o.rate)) {
        rd_kafka_poll(rk, 0);
        std::this_thread::sleep_until(t0 + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(due_at(n, o.rate))));
      }
    }
    if (o.committed) {
      auto& ledger = ledgers.at(part);
      const int64_t cost = bytes + kRecordOverheadBytes;
      while (!ledger.has_room(cost, o.budget) && !cancel.load()) {
        progress.held_back = true;
        auto positions = o.committed();
        for (auto& [p, l] : ledgers)
          if (auto it = positions.find(key_of(o.topic, p)); it != positions.end())
            l.committed(it->second);
        if (ledger.has_room(cost, o.budget)) break;
        rd_kafka_poll(rk, 50);  // serves delivery reports while it waits
      }
      progress.held_back = false;
      if (cancel.load()) break;
      ledger.produced(cost);
    }
    while (true) {
      rd_kafka_resp_err_t err =
          rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o.topic.c_str()), RD_KAFKA_V_PARTITION(part),
                            RD_KAFKA_V_VALUE(line.data(), line.size()),
                            RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 10);
        continue;
      }
      if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
        return Status::Invalid(o.file.string() + ":" + std::to_string(line_no) +
                               ": the record is larger than Kafka's message limit "
                               "(message.max.bytes); split the line");
      if (err)
        return Status::Unavailable("producing " + o.file.string() + ":" + std::to_string(line_no) +
                                   " to " + o.topic + ": " + rd_kafka_err2str(err));
      break;
    }
    ++tracker.sent;
    ++n;
    progress.loaded.fetch_add(1);
    rd_kafka_poll(rk, 0);
    if (tracker.failed > 0) break;
  }
  // Every record acknowledged before the count is reported: run() reads the end offsets it
  // drains to only after this returns.
  rd_kafka_flush(rk, 10'000);
  Status delivered = kafka::wait_for_deliveries(rk, tracker, std::chrono::seconds(60));
  if (!delivered.ok())
    return delivered.with_context("loading " + o.file.string() + " into topic " + o.topic);
  return n;
}

InputLoader::InputLoader(std::string bootstrap, std::vector<LoadPlan> plans, double rate,
                         fs::path status_file)
    : bootstrap_(std::move(bootstrap)),
      plans_(std::move(plans)),
      rate_(rate),
      status_file_(std::move(status_file)) {}

InputLoader::~InputLoader() {
  cancel_ = true;
  if (thread_.joinable()) thread_.join();
}

void InputLoader::start() {
  thread_ = std::thread([this] { run(); });
}

void InputLoader::wait_until_done_or_held_back() {
  while (!done_.load() && !progress_.held_back.load())
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

Status InputLoader::status() const {
  std::lock_guard lk(mu_);
  return status_;
}

std::map<std::string, int64_t> InputLoader::final_ends() const {
  std::lock_guard lk(mu_);
  return final_ends_;
}

void InputLoader::run() {
  // A directory (`sleet run --workers N`): every worker's status file in it, the highest
  // position of each partition (committed positions only grow, whoever reports them).
  auto committed = [this] {
    std::vector<fs::path> files;
    std::error_code ec;
    if (fs::is_directory(status_file_, ec)) {
      for (auto& e : fs::directory_iterator(status_file_, ec))
        if (e.path().extension() == ".json") files.push_back(e.path());
    } else {
      files.push_back(status_file_);
    }
    std::map<std::string, int64_t> out;
    for (auto& path : files) {
      std::ifstream f(path);
      std::stringstream ss;
      ss << f.rdbuf();
      for (auto& [tp, at] : parse_positions(ss.str())) out[tp] = std::max(out[tp], at);
    }
    return out;
  };
  Status result;
  std::map<std::string, int64_t> ends;
  for (auto& plan : plans_) {
    for (auto& file : plan.files) {
      if (!result.ok() || cancel_.load()) break;
      LoadOptions lo{bootstrap_, plan.topic, plan.partitions, file, rate_, nullptr, {}};
      if (plan.flow_control) lo.committed = committed;
      int64_t before = progress_.loaded.load();
      auto n = load_file(lo, progress_, cancel_);
      if (!n.ok()) {
        result = n.status();
        break;
      }
      spdlog::info("loaded {} records from {} into topic {}", progress_.loaded.load() - before,
                   file.string(), plan.topic);
    }
  }
  // The ends --until-drained waits for: read only now, after every record was acknowledged.
  if (result.ok() && !cancel_.load()) {
    auto rk = kafka::make_consumer({{"bootstrap.servers", bootstrap_},
                                    {"broker.address.family", "v4"},
                                    {"allow.auto.create.topics", "false"}});
    if (!rk.ok()) result = rk.status();
    for (auto& plan : plans_) {
      if (!result.ok() || !plan.drain_to_end || plan.files.empty()) continue;
      auto e = kafka::offsets_at(rk->get(), plan.topic, plan.partitions, RD_KAFKA_OFFSET_END,
                                 std::chrono::seconds(30));
      if (!e.ok()) {
        result = e.status().with_context("reading the end offsets of " + plan.topic);
        break;
      }
      for (auto& [p, off] : *e) ends[plan.topic + ":" + std::to_string(p)] = off;
    }
  }
  {
    std::lock_guard lk(mu_);
    status_ = result;
    final_ends_ = std::move(ends);
  }
  done_ = true;
}

}  // namespace sleet::cluster
