#include "tests/support/kafka_fixture.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace sleet::test {

namespace {
template <class T>
T check(Result<T> r, const std::string& what) {
  if (!r.ok()) throw std::runtime_error(what + ": " + r.status().to_string());
  return std::move(r).value();
}
void check(const Status& s, const std::string& what) {
  if (!s.ok()) throw std::runtime_error(what + ": " + s.to_string());
}
}  // namespace

std::unique_ptr<kafka::MockCluster> start_kafka(
    const std::vector<std::pair<std::string, int>>& topics, int brokers) {
  auto mc = check(kafka::MockCluster::start(brokers), "starting mock cluster");
  for (const auto& [name, n] : topics) check(mc->create_topic(name, n), "creating " + name);
  return mc;
}

void produce(const std::string& bootstrap, const std::string& topic,
             const std::vector<ProduceRecord>& records, std::chrono::milliseconds timeout) {
  kafka::DeliveryTracker tracker;
  auto rk = check(kafka::make_producer({{"bootstrap.servers", bootstrap},
                                        {"linger.ms", "2"},
                                        {"batch.num.messages", "10000"},
                                        {"queue.buffering.max.messages", "1000000"}},
                                       true, &tracker),
                  "test producer");
  // Know the topic before producing: librdkafka 2.0.2 may otherwise hold the first messages of a
  // topic it has no metadata for until a 1 s timer fires.
  check(kafka::partitions_of(rk.get(), topic, timeout), "test producer metadata");
  for (const auto& r : records) {
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(r.headers.size());
    for (const auto& [k, v] : r.headers)
      rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                          static_cast<ssize_t>(v.size()));
    const char* key = r.key ? r.key->data() : nullptr;
    size_t key_len = r.key ? r.key->size() : 0;
    int32_t partition = r.partition < 0 ? RD_KAFKA_PARTITION_UA : r.partition;
    while (true) {
      auto err = rd_kafka_producev(
          rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
          RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_TIMESTAMP(r.timestamp),
          RD_KAFKA_V_END);
      if (!err) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_headers_destroy(hdrs);
        check(kafka::error_status(err, "producing"), "test producer");
      }
      rd_kafka_poll(rk.get(), 10);
    }
    ++tracker.sent;
  }
  check(kafka::wait_for_deliveries(rk.get(), tracker, timeout), "test producer deliveries");
}

std::vector<ConsumedRecord> consume_all(const std::string& bootstrap, const std::string& topic,
                                        std::chrono::milliseconds timeout) {
  auto rk = check(kafka::make_consumer({{"bootstrap.servers", bootstrap},
                                        {"group.id", "sleet-test-reader"},
                                        {"auto.offset.reset", "earliest"}}),
                  "test consumer");
  auto ends = check(kafka::end_offsets(rk.get(), topic, timeout), "end offsets of " + topic);
  std::map<int32_t, int64_t> remaining;
  kafka::PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(ends.size())));
  for (const auto& [p, end] : ends) {
    if (end <= 0) continue;
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    remaining[p] = end;
  }
  std::vector<ConsumedRecord> out;
  if (remaining.empty()) return out;
  check(kafka::error_status(rd_kafka_assign(rk.get(), list.get()), "assign"), "test consumer");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!remaining.empty()) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("consume_all(" + topic + "): timed out with " +
                               std::to_string(remaining.size()) + " partitions unread");
    kafka::Message m(rd_kafka_consumer_poll(rk.get(), 100));
    if (!m) continue;
    if (m->err) continue;  // transient; the deadline bounds us
    ConsumedRecord r;
    r.partition = m->partition;
    r.offset = m->offset;
    if (m->key) r.key = std::string(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) r.value.assign(static_cast<const char*>(m->payload), m->len);
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m.get(), &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* v;
      size_t n;
      for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &v, &n) == 0; ++i)
        r.headers[name] = std::string(static_cast<const char*>(v), n);
    }
    auto it = remaining.find(m->partition);
    if (it != remaining.end() && m->offset < it->second) out.push_back(std::move(r));
    if (it != remaining.end() && m->offset + 1 >= it->second) remaining.erase(it);
  }
  std::sort(out.begin(), out.end(), [](const ConsumedRecord& a, const ConsumedRecord& b) {
    return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset);
  });
  return out;
}

Result<std::string> MemoryCursorStore::load(const std::string& key) {
  auto it = cells.find(key);
  if (it == cells.end()) return Status::NotFound("no cursor " + key);
  return it->second;
}

Status MemoryCursorStore::store(const std::string& key, const std::string& value) {
  cells[key] = value;
  ++stores;
  return Status::Ok();
}

Context make_context(const std::string& component, int task, int parallelism,
                     std::map<std::string, std::string> config, CursorStore* cursors) {
  Context c;
  c.topology = "test";
  c.component = component;
  c.task = TaskIndex{task};
  c.parallelism = parallelism;
  c.config = std::move(config);
  c.cursors = cursors;
  c.checkpointing = true;
  return c;
}

}  // namespace sleet::test
