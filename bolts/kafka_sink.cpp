#include "bolts/kafka_sink.hpp"

#include <spdlog/spdlog.h>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/vector.hpp>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include <sleet/kafka_headers.hpp>
#include <string_view>

#include "core/builtin.hpp"
#include "core/kill_point.hpp"

namespace sleet::kafka {

namespace {

constexpr const char* kMidPublish = "kafka_sink.mid_publish";
// How many records of an epoch are produced between two questions to the side-effect gate.
constexpr size_t kGateEvery = 4096;
// How long open() waits for the topic to show up in the metadata.
constexpr std::chrono::milliseconds kMetadataTimeout{15'000};

// The mid-publish kill point needs the first half of an epoch flushed before it fires, which
// costs a pipeline drain; pay it only when a test armed this point (SLEET_KILL_POINT=name[@k]).
bool mid_publish_armed() {
  static const bool armed = [] {
    const char* v = std::getenv("SLEET_KILL_POINT");
    if (!v) return false;
    std::string_view s(v);
    return s.substr(0, s.find('@')) == kMidPublish;
  }();
  return armed;
}

template <class T>
bool parse_int(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Value of header `name` as text, or nullopt.
std::optional<std::string_view> header(rd_kafka_headers_t* hdrs, const char* name) {
  const void* v = nullptr;
  size_t n = 0;
  if (!hdrs || rd_kafka_header_get_last(hdrs, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return std::nullopt;
  return std::string_view(static_cast<const char*>(v), v ? n : 0);
}

}  // namespace

const char* publish_state_name(PublishState s) {
  switch (s) {
    case PublishState::idle:
      return "idle";
    case PublishState::checking:
      return "checking";
    case PublishState::storing_cursor:
      return "storing_cursor";
    case PublishState::scanning:
      return "scanning";
    case PublishState::producing:
      return "producing";
    case PublishState::marking:
      return "marking";
    case PublishState::failed:
      return "failed";
    case PublishState::fenced:
      return "fenced";
  }
  return "?";
}

// --- PublishCursor -------------------------------------------------------------------------------

std::string PublishCursor::encode() const {
  std::string s = std::string(generation ? "v2" : "v1") + " epoch=" + std::to_string(epoch) +
                  " published=" + (published ? "1" : "0");
  if (generation) s += " generation=" + std::to_string(generation);
  s += " offsets=";
  bool first = true;
  for (const auto& [p, o] : offsets) {
    if (!first) s += ',';
    first = false;
    s += std::to_string(p) + ':' + std::to_string(o);
  }
  return s;
}

Result<PublishCursor> PublishCursor::decode(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return Status::Corruption("publish cursor '" + text + "': " + why);
  };
  std::istringstream in(text);
  std::string version, e, pub, gen, offs;
  if (!(in >> version >> e >> pub)) return bad("too short");
  if (version != "v1" && version != "v2") return bad("unknown version " + version);
  PublishCursor c;
  if (version == "v2" &&
      (!(in >> gen) || gen.rfind("generation=", 0) != 0 ||
       !parse_int(std::string_view(gen).substr(11), c.generation) || c.generation <= 0))
    return bad("bad generation");
  in >> offs;  // may be "offsets=" with nothing after it
  if (e.rfind("epoch=", 0) != 0 || !parse_int(std::string_view(e).substr(6), c.epoch))
    return bad("bad epoch");
  if (pub != "published=0" && pub != "published=1") return bad("bad published flag");
  c.published = pub == "published=1";
  if (offs.rfind("offsets=", 0) != 0) return bad("missing offsets");
  std::string_view rest = std::string_view(offs).substr(8);
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    auto colon = item.find(':');
    int32_t p = 0;
    int64_t o = 0;
    if (colon == std::string_view::npos || !parse_int(item.substr(0, colon), p) ||
        !parse_int(item.substr(colon + 1), o))
      return bad("bad offset entry '" + std::string(item) + "'");
    c.offsets[p] = o;
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
    if (rest.empty()) return bad("trailing comma");
  }
  return c;
}

// --- KafkaSink -----------------------------------------------------------------------------------

KafkaSink::KafkaSink(const Args& a)
    : topic_(a.string_or("topic", "")),
      bootstrap_(a.string_or("bootstrap.servers", "")),
      key_field_(a.string_or("key.field", "")),
      headers_field_(a.string_or("headers_field", "")),
      timeout_(a.int_or("publish.timeout.ms", 60'000)),
      extra_conf_(conf_from_arg(a, "config")) {
  if (topic_.empty()) throw std::invalid_argument("topic must not be empty");
  std::string d = a.string_or("delivery", "exactly_once");
  if (d != "exactly_once" && d != "at_least_once")
    throw std::invalid_argument("delivery must be exactly_once or at_least_once, got '" + d + "'");
  exactly_once_ = d == "exactly_once";
  const std::string format = a.string_or("format", "tsv");
  record_format_ = format == "record";
  auto f = parse_format(record_format_ ? "tsv" : format);
  if (!f.ok())
    throw std::invalid_argument("format must be tsv, jsonl or record, got '" + format + "'");
  format_ = *f;
  if (timeout_.count() < 1) throw std::invalid_argument("publish.timeout.ms must be >= 1");
}

KafkaSink::~KafkaSink() = default;

Status KafkaSink::init(Context& ctx) {
  if (producer_) return Status::Ok();
  name_ = ctx.component + "-" + std::to_string(ctx.task.value);
  if (!ctx.checkpointing) exactly_once_ = false;  // no barriers will come: nothing would commit
  if (bootstrap_.empty()) bootstrap_ = ctx.config_or("kafka.bootstrap.servers", "");
  if (bootstrap_.empty())
    return Status::Invalid("KafkaSink " + name_ +
                           ": no bootstrap.servers argument and no kafka.bootstrap.servers in the "
                           "topology config");
  cursors_ = ctx.cursors;
  generation_ = ctx.generation;
  gate_ = ctx.side_effects;
  publish_.emplace("KafkaSink " + name_ + " publish", PublishState::idle, kPublishTransitions,
                   publish_state_name);
  if (exactly_once_ && !cursors_)
    return Status::Invalid("KafkaSink " + name_ +
                           ": delivery exactly_once needs a cursor store (ZooKeeper); use "
                           "delivery: at_least_once without one");
  if (ctx.counter) published_counter_ = ctx.counter("published");
  if (exactly_once_) epochs_.attach(ctx);

  std::map<std::string, std::string> conf = {
      {"bootstrap.servers", bootstrap_},
      {"client.id", "sleet-" + name_},
      // Java-compatible key -> partition mapping, so keyed output lands where Kafka users expect.
      {"partitioner", "murmur2_random"},
      {"linger.ms", "5"},
      {"batch.num.messages", "10000"},
      {"queue.buffering.max.messages", "500000"},
      {"queue.buffering.max.kbytes", "131072"},
      {"message.timeout.ms", std::to_string(timeout_.count())},
  };
  for (const auto& [k, v] : extra_conf_) conf[k] = v;
  // Idempotence in both modes: retries inside one producer session never duplicate or reorder.
  auto p = make_producer(conf, /*idempotent=*/true, &tracker_);
  if (!p.ok()) return p.status().with_context("KafkaSink " + name_);
  producer_ = std::move(p).value();
  rkt_.reset(rd_kafka_topic_new(producer_.get(), topic_.c_str(), nullptr));
  if (!rkt_) return error_status(rd_kafka_last_error(), "KafkaSink " + name_ + ": topic handle");
  // Learn the topic's partitions now: it checks the topic exists, and librdkafka 2.0.2 may hold
  // the first records for a topic without cached metadata until a 1 s timer fires.
  auto parts = partitions_of(producer_.get(), topic_, std::min(timeout_, kMetadataTimeout));
  if (!parts.ok()) return parts.status().with_context("KafkaSink " + name_);
  return Status::Ok();
}

void KafkaSink::snapshot_state(StateWriter& w) const {
  // Called right after on_barrier, so current_ is empty: the pending epochs are the whole state.
  w(pending_);
}

namespace {
// State version 1: records without headers.
struct RecordV1 {
  bool has_key = false;
  std::string key, value;
  template <class A>
  void serialize(A& ar) {
    ar(has_key, key, value);
  }
};
struct EpochV1 {
  int64_t id = 0;
  std::vector<RecordV1> records;
  template <class A>
  void serialize(A& ar) {
    ar(id, records);
  }
};
// State version 2: headers without null values, no null values.
struct RecordV2 {
  bool has_key = false;
  std::string key, value;
  std::vector<std::pair<std::string, std::string>> headers;
  template <class A>
  void serialize(A& ar) {
    ar(has_key, key, value, headers);
  }
};
struct EpochV2 {
  int64_t id = 0;
  std::vector<RecordV2> records;
  template <class A>
  void serialize(A& ar) {
    ar(id, records);
  }
};
}  // namespace

Status KafkaSink::restore_state(StateReader& r, uint32_t version) {
  if (version < 1 || version > 3)
    return Status::Incompatible("KafkaSink state version " + std::to_string(version) +
                                " (this build reads versions 1 to 3)");
  pending_.clear();
  if (version == 3) {
    r(pending_);
    return Status::Ok();
  }
  if (version == 2) {
    std::vector<EpochV2> old;
    r(old);
    for (auto& e : old) {
      Epoch n{CheckpointId{e.id}, {}};
      for (auto& rec : e.records) {
        Record x{rec.has_key, std::move(rec.key), std::move(rec.value), {}, false};
        for (auto& [name, value] : rec.headers) x.headers.emplace_back(name, std::move(value));
        n.records.push_back(std::move(x));
      }
      pending_.push_back(std::move(n));
    }
    return Status::Ok();
  }
  std::vector<EpochV1> old;
  r(old);
  for (auto& e : old) {
    Epoch n{CheckpointId{e.id}, {}};
    for (auto& rec : e.records)
      n.records.push_back(Record{rec.has_key, std::move(rec.key), std::move(rec.value), {}, false});
    pending_.push_back(std::move(n));
  }
  return Status::Ok();
}

Status KafkaSink::on_recover(CheckpointId n, Context& ctx) {
  SLEET_RETURN_IF_ERROR(init(ctx));
  if (!exactly_once_) return Status::Ok();
  // Anything after n was never committed (a snapshot of n holds epochs <= n only; be defensive).
  std::erase_if(pending_, [&](const Epoch& e) { return e.id > n; });
  current_.clear();
  epochs_.set_pending(pending_.size());
  return publish_up_to(n);
}

Status KafkaSink::open(Context& ctx) {
  return init(ctx);
}

void KafkaSink::add_headers(const Value& v, const std::string& field, const Tuple& t,
                            Record& r) const {
  const Bytes* b = std::get_if<Bytes>(&v);
  if (!b)
    throw std::invalid_argument("KafkaSink " + name_ + ": headers field '" + field + "' has type " +
                                value_type_name(type_of(v)) +
                                ", not bytes in the <sleet/kafka_headers.hpp> encoding [" +
                                t.debug_string() + "]");
  auto h = KafkaHeaders::decode(*b);
  if (!h.ok())
    throw std::invalid_argument("KafkaSink " + name_ + ": headers field '" + field +
                                "': " + h.status().message());
  for (const auto& x : h->all()) {
    // Sleet's own bookkeeping headers are written by this sink (exactly_once), not forwarded.
    if (exactly_once_ && (x.name == kTaskHeader || x.name == kEpochHeader || x.name == kSeqHeader))
      continue;
    r.headers.emplace_back(x.name, x.value);
  }
}

KafkaSink::Record KafkaSink::make_record(const Tuple& t) {
  Record r;
  if (record_format_) {
    const auto& names = t.fields() ? t.fields()->names() : std::vector<std::string>{};
    const std::string& hfield = headers_field_.empty() ? std::string("headers") : headers_field_;
    bool has_value = false;
    int key_null = -1;  // -1: no key_null field (an empty key is no key, as before issue 14)
    for (size_t i = 0; i < names.size() && i < t.size(); ++i) {
      if (names[i] == "key") {
        append_text(t.at(i), r.key);
        r.has_key = !r.key.empty();
      } else if (names[i] == "value") {
        append_text(t.at(i), r.value);
        has_value = true;
      } else if (names[i] == "key_null" && type_of(t.at(i)) == ValueType::boolean) {
        key_null = std::get<bool>(t.at(i)) ? 1 : 0;
      } else if (names[i] == "value_null" && type_of(t.at(i)) == ValueType::boolean) {
        r.value_null = std::get<bool>(t.at(i));  // not a header
      } else if (names[i] == hfield && type_of(t.at(i)) == ValueType::bytes) {
        add_headers(t.at(i), hfield, t, r);
      } else {
        r.headers.emplace_back(names[i], to_text(t.at(i)));
      }
    }
    if (key_null >= 0) r.has_key = key_null == 0;
    if (!r.has_key) r.key.clear();
    if (r.value_null) r.value.clear();
    if (!has_value)
      throw std::invalid_argument("KafkaSink " + name_ +
                                  ": format record needs a 'value' field in the input tuple [" +
                                  t.debug_string() + "]");
    return r;
  }
  encode_record(format_, t, r.value);
  if (key_field_.empty() && headers_field_.empty()) return r;
  if (t.fields() != key_fields_) {
    key_fields_ = t.fields();
    key_index_ = key_fields_ && !key_field_.empty() ? key_fields_->index_of(key_field_) : -1;
    key_null_index_ =
        key_fields_ && !key_field_.empty() ? key_fields_->index_of(key_field_ + "_null") : -1;
    headers_index_ =
        key_fields_ && !headers_field_.empty() ? key_fields_->index_of(headers_field_) : -1;
  }
  if (!key_field_.empty()) {
    if (key_index_ < 0) {
      key_fields_ = nullptr;  // look again at the next tuple
      throw std::invalid_argument("KafkaSink " + name_ + ": key.field '" + key_field_ +
                                  "' is not a field of the input tuple [" + t.debug_string() + "]");
    }
    r.has_key = true;
    const Value& v = t.at(static_cast<size_t>(key_index_));
    if (auto* s = std::get_if<std::string>(&v))
      r.key = *s;
    else
      r.key = to_text(v);
    if (key_null_index_ >= 0) {
      const Value& n = t.at(static_cast<size_t>(key_null_index_));
      if (auto* b = std::get_if<bool>(&n); b && *b) {
        r.has_key = false;
        r.key.clear();
      }
    }
  }
  if (!headers_field_.empty()) {
    if (headers_index_ < 0) {
      key_fields_ = nullptr;
      throw std::invalid_argument("KafkaSink " + name_ + ": headers_field '" + headers_field_ +
                                  "' is not a field of the input tuple [" + t.debug_string() + "]");
    }
    add_headers(t.at(static_cast<size_t>(headers_index_)), headers_field_, t, r);
  }
  return r;
}

void KafkaSink::execute(const Tuple& t, Collector&) {
  Record r = make_record(t);
  if (exactly_once_) {
    current_.push_back(std::move(r));
    return;
  }
  if (Status s = produce(r, nullptr, 0); !s.ok()) throw FatalError(s.to_string());
  if (!tracker_.first_error.ok()) throw FatalError(tracker_.first_error.to_string());
}

Status KafkaSink::on_barrier(CheckpointId n, Collector&) {
  if (!exactly_once_) {
    // At-least-once still means: what a checkpoint covers has been delivered.
    Status s = wait_for_deliveries(producer_.get(), tracker_, timeout_);
    tracker_.reset();
    return s.with_context("KafkaSink " + name_ + " at barrier " + std::to_string(n.value));
  }
  if (!current_.empty()) pending_.push_back(Epoch{n, std::move(current_)});
  current_.clear();
  epochs_.set_pending(pending_.size());
  return Status::Ok();
}

Status KafkaSink::on_checkpoint_committed(CheckpointId n) {
  if (!exactly_once_) return Status::Ok();
  return publish_up_to(n);
}

void KafkaSink::close() {
  if (producer_ && !exactly_once_) {
    Status s = wait_for_deliveries(producer_.get(), tracker_, timeout_);
    if (!s.ok()) spdlog::error("KafkaSink {}: closing: {}", name_, s.to_string());
  }
  rkt_.reset();
  producer_.reset();
}

Status KafkaSink::load_cursor() {
  auto c = cursors_->load(name_);
  if (c.ok()) {
    auto d = PublishCursor::decode(*c);
    if (!d.ok()) return d.status().with_context("KafkaSink " + name_);
    if (d->writer() > generation_)
      return Status::Fenced("KafkaSink " + name_ + ": generation " + std::to_string(d->generation) +
                            " took over the publish cursor (at epoch " + std::to_string(d->epoch) +
                            ") from this worker's generation " + std::to_string(generation_.value) +
                            "; this worker was fenced and publishes nothing more");
    cursor_ = *d;
  } else if (c.status().code() != Code::not_found) {
    return c.status().with_context("KafkaSink " + name_ + ": loading publish cursor");
  }
  return Status::Ok();
}

Status KafkaSink::allowed(const std::string& what) const {
  return allow_side_effect(gate_, what);
}

Status KafkaSink::store_cursor(PublishCursor c) {
  // Read before every write: a successor's cursor must never be overwritten by this one. (Not a
  // compare-and-set: a successor storing its first cursor in between is caught by the next read.)
  SLEET_RETURN_IF_ERROR(load_cursor());
  if (gate_)
    SLEET_RETURN_IF_ERROR(allowed("KafkaSink " + name_ + " storing its publish cursor for epoch " +
                                  std::to_string(c.epoch) +
                                  (c.published ? " (published)" : " (write-ahead)")));
  c.generation = generation_.value;
  SLEET_RETURN_IF_ERROR(cursors_->store(name_, c.encode())
                            .with_context("KafkaSink " + name_ + ": storing publish cursor"));
  cursor_ = c;
  return Status::Ok();
}

Status KafkaSink::publish_up_to(CheckpointId n) {
  if (!producer_ || !publish_) return Status::Internal("KafkaSink: publish before open/on_recover");
  if (publish_->state() == PublishState::fenced) return fenced_;
  while (!pending_.empty() && pending_.front().id <= n) {
    SLEET_RETURN_IF_ERROR(publish_epoch(pending_.front()));
    pending_.erase(pending_.begin());
    epochs_.set_pending(pending_.size());
  }
  return Status::Ok();
}

Status KafkaSink::step_failed(Status s, const std::string& why) {
  const bool fenced = s.code() == Code::fenced;
  SLEET_RETURN_IF_ERROR(publish_->transition(fenced ? PublishState::fenced : PublishState::failed,
                                             why + ": " + s.to_string()));
  if (fenced) fenced_ = s;
  return s;
}

// One epoch through the publish machine (PublishState, kafka_sink.hpp). Every step that can fail
// leaves through step_failed(), so the machine always says where the protocol stopped.
Status KafkaSink::publish_epoch(const Epoch& e) {
  const std::string why = "epoch " + std::to_string(e.id.value);
  SLEET_RETURN_IF_ERROR(publish_->transition(PublishState::checking, why));
  // The stored cursor, not the mirror: a successor may have moved it since this sink last looked.
  if (Status s = load_cursor(); !s.ok()) return step_failed(s, why);
  // Cursors advance in epoch order and a later epoch's cursor is stored only after this one was
  // marked published, so a newer cursor means this epoch is already out.
  if (cursor_ &&
      (cursor_->epoch_id() > e.id || (cursor_->epoch_id() == e.id && cursor_->published)))
    return publish_->transition(PublishState::idle, why + " already published");
  std::vector<bool> done(e.records.size(), false);
  size_t todo = e.records.size();
  if (cursor_ && cursor_->epoch_id() == e.id) {
    // An earlier attempt (a crashed process, or a failed call) stored this cursor and may have
    // written any subset of the epoch: find it and publish only the rest.
    SLEET_RETURN_IF_ERROR(publish_->transition(PublishState::scanning, why));
    if (Status s = scan_published(*cursor_, e, done); !s.ok()) return step_failed(s, why);
    for (bool d : done) todo -= d ? 1 : 0;
    spdlog::info("KafkaSink {}: resuming epoch {}: {} of {} records already in {}", name_,
                 e.id.value, e.records.size() - todo, e.records.size(), topic_);
  } else {
    SLEET_RETURN_IF_ERROR(publish_->transition(PublishState::storing_cursor, why));
    auto ends = end_offsets(producer_.get(), topic_, timeout_);
    if (!ends.ok()) return step_failed(ends.status().with_context("KafkaSink " + name_), why);
    PublishCursor c;
    c.epoch = e.id.value;
    c.offsets = std::move(ends).value();
    if (Status s = store_cursor(c); !s.ok()) return step_failed(s, why);
  }

  SLEET_RETURN_IF_ERROR(publish_->transition(PublishState::producing, why));
  tracker_.reset();
  const size_t half = todo / 2;
  size_t produced = 0;
  for (size_t i = 0; i < e.records.size(); ++i) {
    if (done[i]) continue;
    if (gate_ && produced % kGateEvery == 0) {
      // Also mid-epoch: a long publish must not outlive the lease by more than a few thousand
      // records. What went out already is found by the scan of the retry.
      if (Status s = allowed("KafkaSink " + name_ + " publishing epoch " +
                             std::to_string(e.id.value) + " (from record " +
                             std::to_string(produced) + " of " + std::to_string(todo) + ")");
          !s.ok())
        return step_failed(s, why);
    }
    if (produced == half && mid_publish_armed()) {
      if (Status s = wait_for_deliveries(producer_.get(), tracker_, timeout_); !s.ok())
        return step_failed(s, why);
      kill_point(kMidPublish);
    }
    if (Status s = produce(e.records[i], &e, i); !s.ok()) return step_failed(s, why);
    ++produced;
    // Long epochs: let the other fibers on this thread run now and then.
    if (produced % kGateEvery == 0) this_task::yield();
  }
  if (Status s = wait_for_deliveries(producer_.get(), tracker_, timeout_)
                     .with_context("KafkaSink " + name_ + " publishing epoch " +
                                   std::to_string(e.id.value));
      !s.ok())
    return step_failed(s, why);
  if (published_counter_) published_counter_->add(static_cast<int64_t>(produced));
  SLEET_RETURN_IF_ERROR(publish_->transition(PublishState::marking, why));
  PublishCursor c = *cursor_;
  c.published = true;
  if (Status s = store_cursor(c); !s.ok()) return step_failed(s, why);
  epochs_.published();  // every record delivered and the cursor says so
  return publish_->transition(PublishState::idle, why + " published");
}

Status KafkaSink::produce(const Record& r, const Epoch* e, size_t seq) {
  // librdkafka's V_* macros cast their arguments: keep expressions out of them.
  const char* key = r.has_key ? r.key.data() : nullptr;
  const size_t key_len = r.has_key ? r.key.size() : 0;
  void* value = r.value_null ? nullptr : const_cast<char*>(r.value.data());
  const size_t value_len = r.value_null ? 0 : r.value.size();
  std::string epoch_s, seq_s;
  if (e) {
    epoch_s = std::to_string(e->id.value);
    seq_s = std::to_string(seq);
  }
  while (true) {
    rd_kafka_resp_err_t err;
    if (!r.headers.empty()) {
      // format: record. The producer owns `hdrs` once producev succeeds.
      rd_kafka_headers_t* hdrs = rd_kafka_headers_new(r.headers.size() + 3);
      for (const auto& [name, v] : r.headers)
        rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()),
                            v ? v->data() : nullptr, v ? static_cast<ssize_t>(v->size()) : 0);
      if (e) {
        rd_kafka_header_add(hdrs, kTaskHeader, -1, name_.data(),
                            static_cast<ssize_t>(name_.size()));
        rd_kafka_header_add(hdrs, kEpochHeader, -1, epoch_s.data(),
                            static_cast<ssize_t>(epoch_s.size()));
        rd_kafka_header_add(hdrs, kSeqHeader, -1, seq_s.data(), static_cast<ssize_t>(seq_s.size()));
      }
      err = rd_kafka_producev(
          producer_.get(), RD_KAFKA_V_RKT(rkt_.get()), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(value, value_len),
          RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
      if (err) rd_kafka_headers_destroy(hdrs);
    } else if (e) {
      err = rd_kafka_producev(
          producer_.get(), RD_KAFKA_V_RKT(rkt_.get()), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(value, value_len),
          RD_KAFKA_V_KEY(key, key_len),
          RD_KAFKA_V_HEADER(kTaskHeader, name_.data(), static_cast<ssize_t>(name_.size())),
          RD_KAFKA_V_HEADER(kEpochHeader, epoch_s.data(), static_cast<ssize_t>(epoch_s.size())),
          RD_KAFKA_V_HEADER(kSeqHeader, seq_s.data(), static_cast<ssize_t>(seq_s.size())),
          RD_KAFKA_V_END);
    } else {
      err = rd_kafka_producev(
          producer_.get(), RD_KAFKA_V_RKT(rkt_.get()), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(value, value_len),
          RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_END);
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      return error_status(err, "KafkaSink " + name_ + ": producing to " + topic_);
    // Local queue full: serve delivery reports and let the network drain it.
    rd_kafka_poll(producer_.get(), 0);
    this_task::sleep_for(std::chrono::microseconds(500));
  }
  ++tracker_.sent;
  if (++produced_since_poll_ >= 256) {
    produced_since_poll_ = 0;
    rd_kafka_poll(producer_.get(), 0);
  }
  return Status::Ok();
}

Status KafkaSink::scan_published(const PublishCursor& c, const Epoch& e, std::vector<bool>& done) {
  auto ends = end_offsets(producer_.get(), topic_, timeout_);
  if (!ends.ok()) return ends.status().with_context("KafkaSink " + name_ + " scanning");
  auto consumer = make_consumer({{"bootstrap.servers", bootstrap_},
                                 {"client.id", "sleet-" + name_ + "-scan"},
                                 {"group.id", "sleet.scan." + name_},
                                 {"isolation.level", "read_uncommitted"},
                                 {"enable.partition.eof", "true"},
                                 {"auto.offset.reset", "earliest"}});
  if (!consumer.ok()) return consumer.status().with_context("KafkaSink " + name_ + " scanning");
  rd_kafka_t* rk = consumer->get();

  std::map<int32_t, int64_t> remaining;  // partition -> end to reach
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(ends->size())));
  for (const auto& [p, end] : *ends) {
    if (end <= 0) continue;  // empty partition
    auto it = c.offsets.find(p);
    // A partition the cursor does not name appeared after it was written: scan it all.
    int64_t from = it == c.offsets.end() ? RD_KAFKA_OFFSET_BEGINNING : it->second;
    if (from >= 0 && from >= end) continue;
    rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), p)->offset = from;
    remaining[p] = end;
  }
  if (remaining.empty()) return Status::Ok();
  if (auto err = rd_kafka_assign(rk, list.get()); err)
    return error_status(err, "KafkaSink " + name_ + " scanning: assign");
  Queue q(rd_kafka_queue_get_consumer(rk));

  const std::string epoch_s = std::to_string(e.id.value);
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  std::vector<rd_kafka_message_t*> buf(1024);
  while (!remaining.empty()) {
    ssize_t n = rd_kafka_consume_batch_queue(q.get(), 0, buf.data(), buf.size());
    if (n < 0) return error_status(rd_kafka_last_error(), "KafkaSink " + name_ + " scanning");
    for (ssize_t i = 0; i < n; ++i) {
      Message m(buf[i]);
      auto it = remaining.find(m->partition);
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (it != remaining.end() && m->offset >= it->second) remaining.erase(it);
        continue;
      }
      if (m->err) {
        // Retriable: librdkafka fetches again. Abort or fatal: give up this scan; the epoch
        // stays pending and the next attempt scans again.
        Status s = error_status(m->err, "KafkaSink " + name_ + " scanning " + topic_);
        if (s.error_class() != ErrorClass::retriable) return s;
        continue;
      }
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m.get(), &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        auto task = header(hdrs, kTaskHeader);
        auto epoch = header(hdrs, kEpochHeader);
        auto seq = header(hdrs, kSeqHeader);
        size_t s = 0;
        if (task && *task == name_ && epoch && *epoch == epoch_s && seq && parse_int(*seq, s) &&
            s < done.size())
          done[s] = true;
      }
      if (it != remaining.end() && m->offset + 1 >= it->second) remaining.erase(it);
    }
    if (n == 0) {
      if (std::chrono::steady_clock::now() >= deadline)
        return Status::Timeout("KafkaSink " + name_ + ": scanning " + topic_ + " for epoch " +
                               epoch_s + " did not reach the end of " +
                               std::to_string(remaining.size()) + " partition(s)");
      this_task::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return Status::Ok();
}

}  // namespace sleet::kafka

SLEET_BUILTIN(sleet::describe<sleet::kafka::KafkaSink>(
    "KafkaSink",
    "Writes tuples as Kafka records (tsv or jsonl values, optional key field); exactly-once by "
    "default without broker transactions",
    {{"topic", sleet::ArgKind::string, true, "topic to write", {}},
     {"bootstrap.servers",
      sleet::ArgKind::string,
      false,
      "Kafka brokers (default: the topology config's kafka.bootstrap.servers)",
      {}},
     {"delivery", sleet::ArgKind::string, false, "exactly_once (default) or at_least_once",
      sleet::Arg("exactly_once")},
     {"format", sleet::ArgKind::string, false,
      "tsv (default), jsonl, or record (fields key and value as is, key_null, headers decoded, "
      "other fields as headers)",
      sleet::Arg("tsv")},
     {"key.field",
      sleet::ArgKind::string,
      false,
      "input field whose text is the record key; a true bool field <key.field>_null (KafkaSpout's "
      "key_null) makes it a null key",
      {}},
     {"headers_field",
      sleet::ArgKind::string,
      false,
      "input bytes field whose headers (the <sleet/kafka_headers.hpp> encoding, KafkaSpout's "
      "headers) every record gets; format record: default headers",
      {}},
     {"publish.timeout.ms", sleet::ArgKind::integer, false,
      "deadline for delivering one epoch (and for scans and offset queries)",
      sleet::Arg(int64_t{60'000})},
     {"config", sleet::ArgKind::map, false, "extra librdkafka producer properties", {}}}))
