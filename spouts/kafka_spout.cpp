#include "spouts/kafka_spout.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string_view>

#include <sleet/kafka_headers.hpp>

#include "core/builtin.hpp"
#include "core/metrics.hpp"

namespace sleet::kafka {

namespace {
constexpr std::chrono::milliseconds kOpenTimeout{30'000};

}  // namespace

std::vector<int32_t> assign_partitions(const std::vector<int32_t>& partitions, int task,
                                       int parallelism) {
  std::vector<int32_t> sorted = partitions;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<int32_t> mine;
  if (parallelism < 1 || task < 0 || task >= parallelism) return mine;
  for (size_t i = static_cast<size_t>(task); i < sorted.size();
       i += static_cast<size_t>(parallelism))
    mine.push_back(sorted[i]);
  return mine;
}

Result<std::map<int32_t, int64_t>> offsets_from_arg(const Args& args, const std::string& name) {
  std::map<int32_t, int64_t> out;
  const Arg* a = args.find(name);
  if (!a || a->is_null()) return out;
  // The registry already checked that the value is a map; its keys and values are ours to check.
  if (a->kind() != ArgKind::map)
    return Status::Invalid(name + " must be a map partition -> offset, got " +
                           arg_kind_name(a->kind()) + " '" + a->to_string() + "'");
  for (const auto& [key, value] : a->as_map()) {
    int32_t p = -1;
    auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), p);
    if (ec != std::errc() || end != key.data() + key.size() || p < 0)
      return Status::Invalid(name + ": key '" + key +
                             "' is not a partition number (a non-negative integer)");
    if (value.kind() != ArgKind::integer || value.as_int() < 0)
      return Status::Invalid(name + ": offset of partition " + key +
                             " must be a non-negative integer, got " + arg_kind_name(value.kind()) +
                             " '" + value.to_string() + "'");
    out[p] = value.as_int();
  }
  return out;
}

KafkaSpout::KafkaSpout(const Args& a)
    : topic_(a.string_or("topic", "")),
      bootstrap_(a.string_or("bootstrap.servers", "")),
      start_(a.string_or("start", "earliest")),
      max_batch_(static_cast<size_t>(std::max<int64_t>(1, a.int_or("max.batch", 1024)))),
      extra_conf_(conf_from_arg(a, "config")) {
  if (topic_.empty()) throw std::invalid_argument("topic must not be empty");
  if (start_ != "earliest" && start_ != "latest")
    throw std::invalid_argument("start must be earliest or latest, got '" + start_ + "'");
  if (a.int_or("max.batch", 1024) < 1) throw std::invalid_argument("max.batch must be >= 1");
  // The factory contract is "throw, the registry turns it into Status::Invalid"; the message
  // starts with the argument's name so `sleet validate` points at its line.
  auto offsets = offsets_from_arg(a, "offsets");
  if (!offsets.ok()) throw std::invalid_argument(offsets.status().message());
  given_ = std::move(offsets).value();
  on_out_of_range_ = a.string_or("on_offset_out_of_range", "fail");
  if (on_out_of_range_ != "fail" && on_out_of_range_ != "earliest" && on_out_of_range_ != "latest")
    throw std::invalid_argument("on_offset_out_of_range must be fail, earliest or latest, got '" +
                                on_out_of_range_ + "'");
  const std::string tf = a.string_or("timestamp_field", "timestamp");
  if (tf == "none") {
    ts_field_ = -1;
  } else {
    ts_field_ = output_fields().index_of(tf);
    if (ts_field_ < 0 || tf == "value" || tf == "partition")
      throw std::invalid_argument(
          "timestamp_field must be timestamp (the Kafka record timestamp, "
          "default), key or offset (an integer), or none, got '" +
          tf + "'");
  }
  out_of_order_ms_ = a.int_or("max_out_of_orderness_ms", 0);
  if (out_of_order_ms_ < 0)
    throw std::invalid_argument("max_out_of_orderness_ms must be >= 0, got " +
                                std::to_string(out_of_order_ms_));
  const int64_t idle = a.int_or("idle_timeout_ms", 0);
  if (idle < 0)
    throw std::invalid_argument("idle_timeout_ms must be >= 0 (0: never idle), got " +
                                std::to_string(idle));
  idle_timeout_ = std::chrono::milliseconds(idle);
}

int64_t KafkaSpout::event_time(const Values& v) const {
  if (ts_field_ < 0) return kNoTimestamp;
  const Value& f = v[static_cast<size_t>(ts_field_)];
  if (auto* i = std::get_if<int64_t>(&f)) return *i < 0 ? kNoTimestamp : *i;  // -1: none
  const std::string& s = std::get<std::string>(f);  // the key, as a decimal integer
  int64_t x = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
  return ec == std::errc() && end == s.data() + s.size() ? x : kNoTimestamp;
}

int64_t KafkaSpout::watermark() const {
  if (ts_field_ < 0) return kNoTimestamp;
  if (!opened_) return kNoTimestamp;
  const auto now = std::chrono::steady_clock::now();
  int64_t w = kIdleWatermark;
  for (const Part& p : parts_) {
    if (idle_timeout_.count() > 0 && now - p.last_record >= idle_timeout_) continue;  // idle
    if (p.max_ts == kNoTimestamp) return kNoTimestamp;  // an active partition not read yet
    w = std::min(w, p.max_ts - out_of_order_ms_ - 1);
  }
  return w;
}

SourceEventTimes KafkaSpout::event_times() const {
  SourceEventTimes out;
  if (ts_field_ < 0) return out;
  for (const Part& p : parts_)
    if (p.max_ts != kNoTimestamp) out.push_back({topic_, PartitionId{p.id}, p.max_ts});
  return out;
}

void KafkaSpout::restore_event_times(const SourceEventTimes& recorded) {
  restored_times_ = recorded;
}

KafkaSpout::~KafkaSpout() {
  close();
}

Status KafkaSpout::seek(const SourcePositions& positions) {
  seek_to_ = positions;
  // The engine seeks every spout, with no positions on a fresh start; any position means a
  // checkpoint exists, and then the `offsets` argument no longer applies.
  if (!positions.empty()) from_checkpoint_ = true;
  return Status::Ok();
}

Status KafkaSpout::on_recover(CheckpointId n, Context& ctx) {
  (void)ctx;
  // A checkpoint may hold no position of this topic (say the spout was added later); it is still
  // a recovery, so partitions without a stored position start at `start`, not at `offsets`.
  if (n.value != 0) from_checkpoint_ = true;
  return Status::Ok();
}

Status KafkaSpout::open(Context& ctx) {
  if (opened_) return Status::Ok();
  name_ = ctx.component + "-" + std::to_string(ctx.task.value);
  if (bootstrap_.empty()) bootstrap_ = ctx.config_or("kafka.bootstrap.servers", "");
  if (bootstrap_.empty())
    return Status::Invalid("KafkaSpout " + name_ +
                           ": no bootstrap.servers argument and no kafka.bootstrap.servers in the "
                           "topology config");

  std::map<std::string, std::string> conf = {
      {"bootstrap.servers", bootstrap_},
      // assign() needs a consumer group handle; the group is never joined and nothing is committed.
      {"group.id", "sleet." + ctx.topology + "." + ctx.component},
      {"client.id", "sleet-" + name_},
      {"auto.offset.reset", start_},
      // Latency when caught up: do not let the broker sit on a fetch for long.
      {"fetch.wait.max.ms", "20"},
      {"fetch.error.backoff.ms", "50"},
  };
  // Prefetch, bounded (kafka::bounded_prefetch): a backlog costs ~10 MiB of records per task
  // instead of all of it at once, and librdkafka reuses its buffers instead of faulting in fresh
  // pages (half the worker's CPU per record on a large backlog, bench/RESULTS.md). The FetchWaker
  // keeps such a shallow queue fed. A topology can change them through the spout's `config`.
  for (const auto& [k, v] : bounded_prefetch()) conf.insert({k, v});
  for (const auto& [k, v] : extra_conf_) conf[k] = v;
  auto rk = make_consumer(conf);
  if (!rk.ok()) return rk.status().with_context("KafkaSpout " + name_);
  rk_ = std::move(rk).value();

  auto all = partitions_of(rk_.get(), topic_, kOpenTimeout);
  if (!all.ok()) return all.status().with_context("KafkaSpout " + name_);
  std::vector<int32_t> mine = assign_partitions(*all, ctx.task.value, ctx.parallelism);

  // Every task checks every named partition, so a typo fails all tasks alike, not just the owner.
  if (!from_checkpoint_)
    for (const auto& [p, off] : given_)
      if (!std::binary_search(all->begin(), all->end(), p))
        return Status::Invalid("KafkaSpout " + name_ + ": offsets names partition " +
                               std::to_string(p) + ", but topic " + topic_ + " has " +
                               std::to_string(all->size()) + " partitions");

  // Where a partition starts, in this order: the checkpointed position (recovery); on a fresh
  // start the `offsets` argument; else `start`. Resolved now so positions() is concrete from the
  // first barrier on. Where every partition ends is asked too, for drained() until the consumer
  // knows better and for checking the given offsets.
  std::vector<int32_t> unstored, given;
  std::map<int32_t, int64_t> stored;
  std::vector<int32_t> checkpointed;
  for (int32_t p : mine) {
    for (const auto& sp : seek_to_)
      if (sp.topic == topic_ && sp.partition.value == p) stored[p] = sp.next.value;
    if (stored.count(p)) {
      checkpointed.push_back(p);
      continue;
    }
    if (!from_checkpoint_ && given_.count(p)) {
      stored[p] = given_.at(p);
      given.push_back(p);
    } else {
      unstored.push_back(p);
    }
  }
  cluster_ = cluster_id(rk_.get(), kOpenTimeout);
  // The cluster first: on another cluster the logs' ranges below mean nothing.
  SLEET_RETURN_IF_ERROR(check_cluster(ctx));
  auto ends = offsets_at(rk_.get(), topic_, mine, RD_KAFKA_OFFSET_END, kOpenTimeout);
  if (!ends.ok()) return ends.status().with_context("KafkaSpout " + name_);
  // One query for the log starts of every partition whose first offset is not ours to choose
  // (checkpointed or given): both are checked against [start, end].
  std::vector<int32_t> bounded = checkpointed;
  bounded.insert(bounded.end(), given.begin(), given.end());
  std::sort(bounded.begin(), bounded.end());
  std::map<int32_t, int64_t> lows;
  if (!bounded.empty()) {
    auto l = offsets_at(rk_.get(), topic_, bounded, RD_KAFKA_OFFSET_BEGINNING, kOpenTimeout);
    if (!l.ok()) return l.status().with_context("KafkaSpout " + name_);
    lows = std::move(l).value();
  }
  SLEET_RETURN_IF_ERROR(check_checkpointed(ctx, checkpointed, stored, lows, *ends));
  auto starts = offsets_at(rk_.get(), topic_, unstored,
                           start_ == "earliest" ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END,
                           kOpenTimeout);
  if (!starts.ok()) return starts.status().with_context("KafkaSpout " + name_);
  if (!given.empty()) {
    // A given offset outside the log would make librdkafka silently reset the partition to
    // auto.offset.reset while positions() still reported the given offset: refuse it instead.
    for (int32_t p : given) {
      int64_t lo = lows[p], hi = (*ends)[p], off = stored[p];
      if (off < lo || off > hi)
        return Status::Invalid("KafkaSpout " + name_ + ": offsets: offset " + std::to_string(off) +
                               " of partition " + std::to_string(p) + " is outside the log [" +
                               std::to_string(lo) + ", " + std::to_string(hi) + "] of topic " +
                               topic_);
    }
  }

  parts_.clear();
  slot_.assign(mine.empty() ? 0 : static_cast<size_t>(mine.back()) + 1, -1);
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(mine.size())));
  for (int32_t p : mine) {
    Part part;
    part.id = p;
    part.next = stored.count(p) ? stored[p] : (*starts)[p];
    part.hi_open = (*ends)[p];
    if (ts_field_ >= 0)
      for (const SourceEventTime& e : restored_times_)
        if (e.topic == topic_ && e.partition.value == p)
          part.max_ts = std::max(part.max_ts, e.max_timestamp);
    slot_[p] = static_cast<int>(parts_.size());
    parts_.push_back(part);
    rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), p)->offset = part.next;
  }
  if (auto err = rd_kafka_assign(rk_.get(), list.get()); err)
    return error_status(err, "KafkaSpout " + name_ + ": assigning partitions");
  queue_.reset(rd_kafka_queue_get_consumer(rk_.get()));
  if (!queue_) return Status::Internal("KafkaSpout " + name_ + ": consumer has no queue");
  if (ctx.counter) {
    wakes_ = ctx.counter("fetch_wakes");
    for (auto& part : parts_) {
      part.next_gauge = ctx.counter(partition_gauge_name("next_offset", topic_, part.id));
      part.hw_gauge = ctx.counter(partition_gauge_name("high_watermark", topic_, part.id));
    }
  }
  if (ctx.counter && ts_field_ >= 0) no_timestamp_ = ctx.counter("no_timestamp");
  // The idle timeout of a partition that never sends counts from open.
  for (Part& p : parts_) p.last_record = std::chrono::steady_clock::now();
  if (!mine.empty())
    waker_ = std::make_unique<FetchWaker>(rk_.get(), queue_.get(), topic_, mine, conf);
  batch_.resize(max_batch_);
  opened_ = true;
  spdlog::debug("KafkaSpout {}: topic {} partitions {}/{}", name_, topic_, parts_.size(),
                all->size());
  return Status::Ok();
}

std::string KafkaSpout::who(const Context& ctx) const {
  return "KafkaSpout component '" + ctx.component + "' (task " + std::to_string(ctx.task.value) +
         "), topic " + topic_;
}

Status KafkaSpout::check_cluster(const Context& ctx) const {
  // Every task checks every position of its topic, so all tasks refuse alike. Positions without
  // a cluster id come from a manifest older than format 3 and cannot be checked.
  const std::string who = this->who(ctx);
  for (const auto& sp : seek_to_) {
    if (sp.topic != topic_ || sp.cluster.empty() || cluster_.empty() || sp.cluster == cluster_)
      continue;
    return Status::Incompatible(
        who + ": the checkpoint's offsets were recorded on Kafka cluster '" + sp.cluster +
        "', but bootstrap.servers " + bootstrap_ + " is Kafka cluster '" + cluster_ +
        "'; its offsets mean other records there. Point the spout at the same Kafka cluster, or "
        "start from a fresh state (a new topology name, or a fresh state dir / ZooKeeper root)");
  }
  return Status::Ok();
}

Status KafkaSpout::check_checkpointed(Context& ctx, const std::vector<int32_t>& mine,
                                      std::map<int32_t, int64_t>& stored,
                                      const std::map<int32_t, int64_t>& lows,
                                      const std::map<int32_t, int64_t>& highs) {
  const std::string who = this->who(ctx);
  for (int32_t p : mine) {
    const int64_t lo = lows.at(p), hi = highs.at(p), off = stored[p];
    if (off >= lo && off <= hi) continue;  // off == hi: caught up, the next record is the next
    const std::string what =
        who + " partition " + std::to_string(p) + ": checkpointed offset " + std::to_string(off) +
        " lies outside the partition's log [" + std::to_string(lo) + ", " + std::to_string(hi) +
        ")" +
        (off < lo ? " (records before " + std::to_string(lo) +
                        " were deleted, e.g. by retention, before they were processed)"
                  : " (the log is shorter than when it was checkpointed: another or a recreated "
                    "topic)");
    if (on_out_of_range_ == "fail")
      return Status::Incompatible(
          what +
          ". To accept the gap, set the spout's on_offset_out_of_range to earliest or latest; "
          "else restore the data, or start from a fresh state (a new topology name, or a fresh "
          "state dir / ZooKeeper root)");
    const int64_t to = on_out_of_range_ == "earliest" ? lo : hi;
    spdlog::warn("{}; on_offset_out_of_range: {} resets it to {}", what, on_out_of_range_, to);
    if (ctx.counter) ctx.counter("offsets_reset")->add(1);
    stored[p] = to;
  }
  return Status::Ok();
}

void KafkaSpout::close() {
  waker_.reset();
  queue_.reset();
  rk_.reset();
}

ConsumeErrorAction consume_error_action(rd_kafka_resp_err_t err) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
    return ConsumeErrorAction::ignore;
  return code_info(classify(err)).error_class == ErrorClass::fatal
             ? ConsumeErrorAction::fail
             : ConsumeErrorAction::log_and_continue;
}

Status KafkaSpout::handle_error(const rd_kafka_message_t& m) {
  const ConsumeErrorAction action = consume_error_action(m.err);
  if (action == ConsumeErrorAction::ignore) return Status::Ok();
  char buf[256];
  if (rd_kafka_fatal_error(rk_.get(), buf, sizeof buf))
    return Status::Internal("KafkaSpout " + name_ + ": consumer fatal error: " + buf);
  Status s = error_status(
      m.err, "KafkaSpout " + name_ + " consuming " + topic_ +
                 (m.partition >= 0 ? " [" + std::to_string(m.partition) + "]" : std::string()));
  if (action == ConsumeErrorAction::fail) return s;
  // Broker trouble: librdkafka keeps retrying; say so now and then, do not fail the topology.
  if (errors_logged_++ % 100 == 0) spdlog::warn("{} (retrying)", s.to_string());
  return Status::Ok();
}

Result<size_t> KafkaSpout::next_batch(Collector& out) {
  if (!opened_ || parts_.empty()) return size_t{0};
  ssize_t n = rd_kafka_consume_batch_queue(queue_.get(), 0, batch_.data(), batch_.size());
  if (n < 0) return error_status(rd_kafka_last_error(), "KafkaSpout " + name_ + ": consume");
  // Once the queue has been full, librdkafka stops fetching until its broker thread is woken.
  if (waker_->after_consume(batch_.data(), static_cast<size_t>(n)) && wakes_) wakes_->add(1);
  size_t emitted = 0;
  Status failure;
  for (ssize_t i = 0; i < n; ++i) {
    Message m(batch_[i]);  // destroyed at the end of this iteration
    if (m->err) {
      if (failure.ok()) failure = handle_error(*m);
      continue;
    }
    Part* p = part(m->partition);
    if (!p || !failure.ok()) continue;  // not ours (cannot happen with assign), or failing
    int64_t ts = rd_kafka_message_timestamp(m.get(), nullptr);
    Values v;
    v.reserve(8);
    v.emplace_back(m->key ? std::string(static_cast<const char*>(m->key), m->key_len)
                          : std::string());
    v.emplace_back(m->payload ? std::string(static_cast<const char*>(m->payload), m->len)
                              : std::string());
    v.emplace_back(int64_t{m->partition});
    v.emplace_back(int64_t{m->offset});
    v.emplace_back(ts);
    Bytes headers;
    rd_kafka_headers_t* hdrs = nullptr;  // owned by the message
    if (rd_kafka_message_headers(m.get(), &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
      const char* name;
      const void* val;
      size_t size;
      for (size_t h = 0;
           rd_kafka_header_get_all(hdrs, h, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++h)
        KafkaHeaders::append_encoded(headers, name,
                                     val ? std::optional<std::string_view>(std::string_view(
                                               static_cast<const char*>(val), size))
                                         : std::nullopt);
    }
    v.emplace_back(std::move(headers));
    v.emplace_back(m->key == nullptr);
    v.emplace_back(m->payload == nullptr);
    const int64_t et = event_time(v);
    if (ts_field_ >= 0) {
      p->last_record = std::chrono::steady_clock::now();
      if (et == kNoTimestamp) {
        if (no_timestamp_) no_timestamp_->add(1);
      } else {
        p->max_ts = std::max(p->max_ts, et);
      }
    }
    out.emit_at(et, std::move(v));
    p->next = m->offset + 1;
    ++emitted;
  }
  if (!failure.ok()) return failure;
  if (emitted == 0 || (++gauge_tick_ & 63) == 0) update_gauges();
  return emitted;
}

void KafkaSpout::update_gauges() {
  for (auto& p : parts_) {
    if (!p.next_gauge) continue;
    int64_t lo = -1, hi = -1;
    rd_kafka_get_watermark_offsets(rk_.get(), topic_.c_str(), p.id, &lo, &hi);
    if (hi < 0) hi = p.hi_open;
    p.next_gauge->add(p.next - p.next_gauge->get());  // this task is the only writer
    if (hi >= 0) p.hw_gauge->add(hi - p.hw_gauge->get());
  }
}

SourcePositions KafkaSpout::positions() const {
  SourcePositions ps;
  ps.reserve(parts_.size());
  for (const auto& p : parts_) ps.push_back({topic_, PartitionId{p.id}, Offset{p.next}, cluster_});
  return ps;
}

bool KafkaSpout::drained() const {
  if (!opened_) return false;
  for (const auto& p : parts_) {
    int64_t lo = -1, hi = -1;
    // Cached by the consumer from its fetch responses: no broker round trip.
    rd_kafka_get_watermark_offsets(rk_.get(), topic_.c_str(), p.id, &lo, &hi);
    if (hi < 0) hi = p.hi_open;  // no fetch response yet
    if (hi < 0 || p.next < hi) return false;
  }
  return true;
}

}  // namespace sleet::kafka

SLEET_BUILTIN(sleet::describe<sleet::kafka::KafkaSpout>(
    "KafkaSpout",
    "Reads a Kafka topic (partitions split among tasks, positions checkpointed); emits key, value, "
    "partition, offset, timestamp, headers, key_null, value_null",
    {{"topic", sleet::ArgKind::string, true, "topic to read", {}},
     {"bootstrap.servers",
      sleet::ArgKind::string,
      false,
      "Kafka brokers (default: the topology config's kafka.bootstrap.servers)",
      {}},
     {"start", sleet::ArgKind::string, false,
      "where to start partitions without a checkpointed position and not named in offsets: "
      "earliest (default) or latest",
      sleet::Arg("earliest")},
     {"offsets",
      sleet::ArgKind::map,
      false,
      "fresh start only (no checkpoint): partition -> offset of the first record to read, e.g. "
      "{0: 120, 3: 0}; must lie within the partition's log",
      {}},
     {"on_offset_out_of_range", sleet::ArgKind::string, false,
      "a checkpointed offset outside its partition's log (retention deleted unread records, or "
      "another topic): fail (default, the restore is refused), earliest or latest (reset there, "
      "count offsets_reset, log a warning)",
      sleet::Arg("fail")},
     {"max.batch", sleet::ArgKind::integer, false, "most records emitted per turn",
      sleet::Arg(int64_t{1024})},
     {"config", sleet::ArgKind::map, false, "extra librdkafka consumer properties", {}},
     {"timestamp_field", sleet::ArgKind::string, false,
      "event time of each tuple: timestamp (the Kafka record timestamp, default), key or offset "
      "(an integer), or none",
      sleet::Arg("timestamp")},
     {"max_out_of_orderness_ms", sleet::ArgKind::integer, false,
      "event time: how far behind the largest timestamp read a record of the same partition may "
      "be without being late (the watermark lags by this much)",
      sleet::Arg(int64_t{0})},
     {"idle_timeout_ms", sleet::ArgKind::integer, false,
      "event time: a partition with no record for this long no longer holds the watermark back "
      "(0: never)",
      sleet::Arg(int64_t{0})}}))
