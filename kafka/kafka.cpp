#include "kafka/kafka.hpp"

#include <librdkafka/rdkafka_mock.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

namespace sleet::kafka {

namespace {

using Clock = std::chrono::steady_clock;

struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
};

// librdkafka's own log lines (any librdkafka thread) go through spdlog rather than straight to
// stderr, and each kind (level, facility) once at its level; repeats go to debug, so a broker
// that keeps refusing connections does not flood the console.
void on_log(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  static std::mutex mu;
  static std::set<std::pair<int, std::string>> seen;
  bool first;
  {
    std::lock_guard lk(mu);
    first = seen.emplace(level, fac ? fac : "").second;
  }
  auto lvl = level <= 3   ? spdlog::level::err
             : level == 4 ? spdlog::level::warn
             : level <= 6 ? spdlog::level::info
                          : spdlog::level::debug;
  // AUTOCREATE: the consumer's allow.auto.create.topics=false cannot be honoured by an old or mock
  // broker (the embedded Kafka says it is 0.10-like). Sleet never relies on auto-creation, so it
  // is no news for the console.
  if (fac && std::string_view(fac) == "AUTOCREATE") lvl = spdlog::level::debug;
  spdlog::log(first ? lvl : spdlog::level::debug, "librdkafka {}: {}", fac ? fac : "", buf);
}

Result<Conf> build_conf(const std::map<std::string, std::string>& props) {
  Conf conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), on_log);
  char errstr[512];
  for (const auto& [name, value] : props) {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK)
      return Status::Invalid("Kafka client property " + name + "=" + value + ": " + errstr);
  }
  return conf;
}

Result<Handle> new_client(rd_kafka_type_t type, Conf conf) {
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof errstr);
  if (!rk) return Status::Invalid(std::string("creating Kafka client: ") + errstr);
  (void)conf.release();  // rd_kafka_new took ownership
  return Handle(rk);
}

// Delivery report callback: runs inside rd_kafka_poll on the polling thread.
void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* t = static_cast<DeliveryTracker*>(opaque);
  if (!t) return;
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++t->acked;
  } else {
    ++t->failed;
    if (t->first_error.ok())
      t->first_error = error_status(m->err, "delivering a record to " +
                                                std::string(rd_kafka_topic_name(m->rkt)) + " [" +
                                                std::to_string(m->partition) + "]");
  }
}

bool retriable_metadata_error(rd_kafka_resp_err_t e) {
  Code c = classify(e);
  return c == Code::unavailable || c == Code::timeout || c == Code::not_found;
}

int remaining_ms(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 1, 60'000));
}

}  // namespace

void HandleDeleter::operator()(rd_kafka_t* rk) const {
  // We never join a group nor commit, so skip the (possibly blocking) consumer close protocol.
  if (rd_kafka_type(rk) == RD_KAFKA_CONSUMER)
    rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  else
    rd_kafka_destroy(rk);
}

Code classify(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return Code::ok;

    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
      return Code::timeout;

    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__NODE_UPDATE:
    case RD_KAFKA_RESP_ERR__RETRY:
    case RD_KAFKA_RESP_ERR__IN_PROGRESS:
    case RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
    case RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND:
    case RD_KAFKA_RESP_ERR_INVALID_FETCH_SESSION_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED:
    case RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS:
      return Code::unavailable;

    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR__NOENT:
      return Code::not_found;

    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
    case RD_KAFKA_RESP_ERR__EXISTING_SUBSCRIPTION:
      return Code::already_exists;

    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__INVALID_TYPE:
    case RD_KAFKA_RESP_ERR__NOT_CONFIGURED:
    case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
      return Code::invalid_argument;

    case RD_KAFKA_RESP_ERR__FENCED:
    case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
      return Code::fenced;

    case RD_KAFKA_RESP_ERR__DESTROY:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
      return Code::cancelled;

    default:
      // Includes _FATAL, OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID, _BAD_MSG,
      // _CRIT_SYS_RESOURCE.
      return Code::internal;
  }
}

Status error_status(rd_kafka_resp_err_t err, const std::string& what) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
  return Status(classify(err),
                what + ": " + rd_kafka_err2str(err) + " (" + rd_kafka_err2name(err) + ")");
}

Result<Handle> make_consumer(const std::map<std::string, std::string>& props) {
  if (!props.count("bootstrap.servers"))
    return Status::Invalid("Kafka consumer: bootstrap.servers is not set");
  std::map<std::string, std::string> all = {
      {"group.id", "sleet"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
  };
  for (const auto& [k, v] : props) all[k] = v;
  auto conf = build_conf(all);
  if (!conf.ok()) return conf.status();
  auto rk = new_client(RD_KAFKA_CONSUMER, std::move(conf).value());
  if (!rk.ok()) return rk.status();
  if (auto err = rd_kafka_poll_set_consumer(rk->get()); err)
    return error_status(err, "redirecting the consumer's main queue");
  return rk;
}

Result<Handle> make_producer(const std::map<std::string, std::string>& props, bool idempotent,
                             DeliveryTracker* tracker) {
  if (!props.count("bootstrap.servers"))
    return Status::Invalid("Kafka producer: bootstrap.servers is not set");
  std::map<std::string, std::string> all = props;
  if (idempotent) all["enable.idempotence"] = "true";
  auto conf = build_conf(all);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_dr_msg_cb(conf->get(), on_delivery);
  rd_kafka_conf_set_opaque(conf->get(), tracker);
  return new_client(RD_KAFKA_PRODUCER, std::move(conf).value());
}

Status wait_for_deliveries(rd_kafka_t* rk, const DeliveryTracker& tracker,
                           std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    rd_kafka_poll(rk, 0);
    if (tracker.outstanding() <= 0 && rd_kafka_outq_len(rk) == 0) return tracker.first_error;
    if (Clock::now() >= deadline)
      return Status::Timeout(std::to_string(tracker.outstanding()) +
                             " records still undelivered after " + std::to_string(timeout.count()) +
                             " ms");
    // Fatal idempotent-producer errors never resolve by waiting.
    char buf[256];
    if (auto fe = rd_kafka_fatal_error(rk, buf, sizeof buf); fe)
      return Status::Internal(std::string("Kafka producer fatal error: ") + buf + " (" +
                              rd_kafka_err2name(fe) + ")");
    this_task::sleep_for(std::chrono::microseconds(250));
  }
}

Result<std::vector<int32_t>> partitions_of(rd_kafka_t* rk, const std::string& topic,
                                           std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  Status last;
  while (true) {
    auto attempt = this_task::run_blocking([&]() -> Result<std::vector<int32_t>> {
      Topic rkt(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
      if (!rkt) return error_status(rd_kafka_last_error(), "topic handle for " + topic);
      const rd_kafka_metadata_t* md = nullptr;
      auto err = rd_kafka_metadata(rk, 0, rkt.get(), &md, remaining_ms(deadline));
      if (err) return error_status(err, "metadata of topic " + topic);
      std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter> owned(md);
      for (int i = 0; i < md->topic_cnt; ++i) {
        const auto& t = md->topics[i];
        if (topic != t.topic) continue;
        if (t.err) return error_status(t.err, "metadata of topic " + topic);
        std::vector<int32_t> ps;
        for (int j = 0; j < t.partition_cnt; ++j) ps.push_back(t.partitions[j].id);
        if (ps.empty()) return Status::NotFound("topic " + topic + " has no partitions");
        std::sort(ps.begin(), ps.end());
        return ps;
      }
      return Status::NotFound("topic " + topic + " is not in the cluster's metadata");
    });
    if (attempt.ok()) return attempt;
    last = attempt.status();
    if (last.code() != Code::unavailable && last.code() != Code::timeout &&
        last.code() != Code::not_found)
      return last;
    if (Clock::now() >= deadline) break;
    this_task::sleep_for(std::chrono::milliseconds(50));
  }
  return last.with_context("after waiting " + std::to_string(timeout.count()) + " ms");
}

Result<std::pair<int64_t, int64_t>> query_watermarks(rd_kafka_t* rk, const std::string& topic,
                                                     int32_t partition,
                                                     std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    int64_t lo = -1, hi = -1;
    auto err = this_task::run_blocking([&] {
      return rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &lo, &hi,
                                              remaining_ms(deadline));
    });
    if (!err) return std::make_pair(lo, hi);
    if (!retriable_metadata_error(err) || Clock::now() >= deadline)
      return error_status(err, "watermarks of " + topic + " [" + std::to_string(partition) + "]");
    this_task::sleep_for(std::chrono::milliseconds(20));
  }
}

Result<std::map<int32_t, int64_t>> offsets_at(rd_kafka_t* rk, const std::string& topic,
                                              const std::vector<int32_t>& partitions, int64_t which,
                                              std::chrono::milliseconds timeout) {
  if (which != RD_KAFKA_OFFSET_BEGINNING && which != RD_KAFKA_OFFSET_END)
    return Status::Invalid("offsets_at: which must be RD_KAFKA_OFFSET_BEGINNING or _END");
  std::map<int32_t, int64_t> out;
  if (partitions.empty()) return out;
  const auto deadline = Clock::now() + timeout;
  while (true) {
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
    for (int32_t p : partitions)
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = which;
    // ListOffsets with timestamp -1 ("latest") / -2 ("earliest") answers the high watermark / log
    // start offset of each partition, one request per leader broker.
    auto err = this_task::run_blocking(
        [&] { return rd_kafka_offsets_for_times(rk, list.get(), remaining_ms(deadline)); });
    if (!err) {
      for (int i = 0; i < list->cnt; ++i) {
        const auto& e = list->elems[i];
        if (e.err) err = e.err;
        out[e.partition] = e.offset;
      }
      if (!err) return out;
      out.clear();
    }
    if (!retriable_metadata_error(err) || Clock::now() >= deadline)
      return error_status(err, "offsets of " + topic);
    this_task::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string cluster_id(rd_kafka_t* rk, std::chrono::milliseconds timeout) {
  char* id = this_task::run_blocking(
      [&] { return rd_kafka_clusterid(rk, static_cast<int>(timeout.count())); });
  if (!id) return {};
  std::string out(id);
  rd_kafka_mem_free(rk, id);
  return out;
}

Result<std::map<int32_t, int64_t>> end_offsets(rd_kafka_t* rk, const std::string& topic,
                                               std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto parts = partitions_of(rk, topic, timeout);
  if (!parts.ok()) return parts.status();
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return offsets_at(rk, topic, *parts, RD_KAFKA_OFFSET_END,
                    std::max(left, std::chrono::milliseconds(1)));
}

// --- MockCluster ---------------------------------------------------------------------------------

namespace {
// What librdkafka 2.0.2's mock cluster reports as its cluster id (rd_kafka_mock_cluster_new:
// "mockCluster%lx" of the cluster's address >> 2); kafka_spout_test checks it against
// rd_kafka_clusterid.
std::string mock_cluster_id(const rd_kafka_mock_cluster_t* c) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "mockCluster%lx",
                static_cast<unsigned long>(reinterpret_cast<uintptr_t>(c) >> 2));
  return buf;
}

// librdkafka 2.0.2's destroy joins an internal broker thread of the owner handle that notices
// its termination only on a wakeup or at its next 1 s timeout. Waking the owner's brokers
// (flush with timeout 0) every 5 ms meanwhile makes destroy take ~5 ms in most runs; some
// still take 1 s (the broker leaves the wakeup list before it checks for termination).
void destroy_mock(rd_kafka_t* owner, rd_kafka_mock_cluster_t* c) {
  std::atomic<bool> done{false};
  std::thread w([&] {
    while (!done) {
      rd_kafka_flush(owner, 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  rd_kafka_mock_cluster_destroy(c);
  done = true;
  w.join();
}

// librdkafka 2.0.2's mock cluster thread sometimes misses the wakeup for a request made to it
// (topic creation) and only notices it when its 1 s poll times out. Any socket event
// wakes it too, so while such a request is in progress a helper thread opens (and at once
// closes) a connection to each broker every 10 ms after the first 10 ms.
class MockWaker {
 public:
  explicit MockWaker(const std::string& bootstrap) {
    size_t pos = 0;
    while (pos < bootstrap.size()) {
      size_t comma = bootstrap.find(',', pos);
      std::string hp =
          bootstrap.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      pos = comma == std::string::npos ? bootstrap.size() : comma + 1;
      auto colon = hp.rfind(':');
      if (colon == std::string::npos) continue;
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(std::atoi(hp.c_str() + colon + 1)));
      if (inet_pton(AF_INET, hp.substr(0, colon).c_str(), &a.sin_addr) == 1) addrs_.push_back(a);
    }
    thread_ = std::thread([this] { run(); });
  }
  ~MockWaker() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void run() {
    std::unique_lock<std::mutex> l(mu_);
    while (!cv_.wait_for(l, std::chrono::milliseconds(10), [this] { return stop_; })) {
      for (const auto& a : addrs_) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        (void)::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
        ::close(fd);
      }
    }
  }
  std::vector<sockaddr_in> addrs_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};
}  // namespace

Result<std::unique_ptr<MockCluster>> MockCluster::start(int brokers) {
  if (brokers < 1) return Status::Invalid("mock cluster needs at least one broker");
  auto conf = build_conf({{"client.id", "sleet-mock-cluster"},
                          // The owner never connects anywhere (no bootstrap.servers): hide that
                          // notice and connection chatter, keep the mock's warnings and errors.
                          {"log_level", "4"},
                          {"log.connection.close", "false"}});
  if (!conf.ok()) return conf.status();
  auto rk = new_client(RD_KAFKA_PRODUCER, std::move(conf).value());
  if (!rk.ok()) return rk.status().with_context("starting the mock Kafka cluster");
  std::unique_ptr<MockCluster> mc(new MockCluster());
  mc->owner_ = std::move(rk).value();
  // Brokers listen on 127.0.0.1 with kernel-chosen ports (librdkafka binds INADDR_LOOPBACK).
  // The id is the cluster's address (see cluster_id()): a new cluster is allocated while the ones
  // whose id was handed out before are held, until its id is new to this process.
  static std::mutex issued_mu;
  static std::set<std::string> issued;
  std::lock_guard lk(issued_mu);
  std::vector<rd_kafka_mock_cluster_t*> reused;
  for (int attempt = 0; attempt < 16; ++attempt) {
    rd_kafka_mock_cluster_t* c = rd_kafka_mock_cluster_new(mc->owner_.get(), brokers);
    if (!c) break;
    if (!issued.count(mock_cluster_id(c))) {
      mc->cluster_ = c;
      break;
    }
    reused.push_back(c);
  }
  for (auto* c : reused) destroy_mock(mc->owner_.get(), c);
  if (!mc->cluster_)
    return Status::Internal("rd_kafka_mock_cluster_new failed or kept reusing cluster ids");
  mc->id_ = mock_cluster_id(mc->cluster_);
  issued.insert(mc->id_);
  mc->brokers_ = brokers;
  return mc;
}

MockCluster::~MockCluster() {
  if (cluster_) destroy_mock(owner_.get(), cluster_);
  cluster_ = nullptr;
  owner_.reset();
}

std::string MockCluster::bootstrap() const {
  return rd_kafka_mock_cluster_bootstraps(cluster_);
}

Status MockCluster::create_topic(const std::string& topic, int partitions) {
  if (partitions < 1) return Status::Invalid("topic " + topic + ": partitions must be >= 1");
  if (topic.empty()) return Status::Invalid("topic name must not be empty");
  MockWaker waker(bootstrap());
  auto err = rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1);
  return error_status(err, "creating topic " + topic);
}

std::map<std::string, std::string> bounded_prefetch() {
  return {{"fetch.max.bytes", "2097152"},
          {"max.partition.fetch.bytes", "262144"},
          {"queued.min.messages", "20000"},
          {"queued.max.messages.kbytes", "16384"}};
}

FetchWaker::FetchWaker(rd_kafka_t* rk, rd_kafka_queue_t* queue, std::string topic,
                       std::vector<int32_t> partitions,
                       const std::map<std::string, std::string>& conf,
                       std::chrono::microseconds min_interval)
    : rk_(rk),
      queue_(queue),
      // librdkafka's defaults where conf does not say (the values were validated by
      // make_consumer).
      full_msgs_(conf.count("queued.min.messages") ? std::stoll(conf.at("queued.min.messages"))
                                                   : 100000),
      full_bytes_(1024 * (conf.count("queued.max.messages.kbytes")
                              ? std::stoll(conf.at("queued.max.messages.kbytes"))
                              : 65536)),
      topic_(std::move(topic)),
      partitions_(std::move(partitions)),
      min_interval_(min_interval),
      thread_([this] { run(); }) {}

FetchWaker::~FetchWaker() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

bool FetchWaker::after_consume(rd_kafka_message_t* const* batch, size_t n) {
  if (n == 0) return false;
  int64_t bytes = 0;
  for (size_t i = 0; i < n; ++i) bytes += static_cast<int64_t>(batch[i]->len);
  const auto count = static_cast<int64_t>(n);
  auto full = [&](int64_t queued) {
    return queued >= full_msgs_ || queued * bytes / count >= full_bytes_;
  };
  const auto left = static_cast<int64_t>(rd_kafka_queue_length(queue_));
  if (full(left + count)) was_full_ = true;
  if (!was_full_ || full(left)) return false;
  was_full_ = false;
  poke();
  return true;
}

void FetchWaker::poke() {
  {
    std::lock_guard lk(mu_);
    if (poked_) return;
    poked_ = true;
  }
  cv_.notify_one();
}

void FetchWaker::run() {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size())));
  for (int32_t p : partitions_) rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), p);
  std::unique_lock lk(mu_);
  while (true) {
    cv_.wait(lk, [&] { return poked_ || stop_; });
    if (stop_) return;
    poked_ = false;  // a poke during the request or the pause is served by the next one
    lk.unlock();
    for (int i = 0; i < list->cnt; ++i) list->elems[i].offset = RD_KAFKA_OFFSET_END;
    // The answer does not matter, only that a request reached each leader's broker thread. The
    // timeout bounds how long stopping waits for an unreachable broker.
    (void)rd_kafka_offsets_for_times(rk_, list.get(), 1000);
    lk.lock();
    if (cv_.wait_for(lk, min_interval_, [&] { return stop_; })) return;
  }
}

namespace {
std::string arg_text(const Arg& a) {
  switch (a.kind()) {
    case ArgKind::string:
      return a.as_string();
    case ArgKind::integer:
      return std::to_string(a.as_int());
    case ArgKind::boolean:
      return a.as_bool() ? "true" : "false";
    default:
      return a.to_string();
  }
}
}  // namespace

std::map<std::string, std::string> conf_from_arg(const Args& args, const std::string& name) {
  std::map<std::string, std::string> out;
  if (const Arg* a = args.find(name); a && a->kind() == ArgKind::map)
    for (const auto& [k, v] : a->as_map()) out[k] = arg_text(v);
  return out;
}

}  // namespace sleet::kafka
