// librdkafka (C API, 2.0.2) helpers shared by KafkaSpout, KafkaSink, `sleet kafka` and tests:
// RAII owners for the C handles, client construction with readable errors, metadata/offset
// queries, one error classification, and the embedded Kafka (the librdkafka mock cluster).
//
// Threading: the owners are plain unique_ptrs (one owner, any thread). librdkafka handles are
// thread-safe. The query helpers (partitions_of, query_watermarks, end_offsets, offsets_at) run
// librdkafka's blocking call on a short-lived helper thread and suspend only the calling fiber
// while they wait (on a plain thread they simply wait), so task fibers may call them.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sleet/args.hpp>
#include <sleet/status.hpp>
#include <sleet/this_task.hpp>

typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace sleet::kafka {

// --- RAII owners ---------------------------------------------------------------------------------
struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const;  // rd_kafka_consumer_close (consumers), rd_kafka_destroy
};
struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
};

using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;
using Conf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;
using Queue = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using Message = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;
using Topic = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;

// --- errors --------------------------------------------------------------------------------------
// The one classification of librdkafka error codes into sleet codes: broker/network trouble ->
// unavailable (retriable), timeouts -> timeout, unknown topic/partition -> not_found, bad
// configuration or arguments -> invalid_argument, fencing -> fenced, purges/destroy -> cancelled,
// fatal idempotence errors and anything unknown -> internal.
Code classify(rd_kafka_resp_err_t err);
// Status{classify(err), "<what>: <librdkafka text> (<ERR_NAME>)"}; Ok for NO_ERROR.
Status error_status(rd_kafka_resp_err_t err, const std::string& what);

// --- clients -------------------------------------------------------------------------------------
// Counts delivery reports of a producer made by make_producer(..., tracker). Only touched from the
// thread that calls rd_kafka_poll on that producer (the owning task's fiber), so no locking.
struct DeliveryTracker {
  int64_t sent = 0;    // incremented by the caller after each successful produce call
  int64_t acked = 0;   // delivery reports without error
  int64_t failed = 0;  // delivery reports with an error
  Status first_error;  // of the failed ones
  int64_t outstanding() const { return sent - acked - failed; }
  // Forget counts and errors (between independent publish rounds).
  void reset() { *this = DeliveryTracker{}; }
};

// A consumer for explicit assignment: the given properties on top of librdkafka defaults
// ("bootstrap.servers" is required). A bad property name or value becomes invalid_argument naming
// the property. "group.id" defaults to "sleet" (assign() needs a consumer group handle, never
// joins a group), "enable.auto.commit" to false. The main queue is redirected to the consumer
// queue, so consumer errors arrive as messages from rd_kafka_queue_get_consumer().
Result<Handle> make_consumer(const std::map<std::string, std::string>& conf);
// A producer; idempotent sets enable.idempotence=true (acks=all, ordered retries). When a tracker
// is given it must outlive the handle and receives every delivery report served by rd_kafka_poll.
Result<Handle> make_producer(const std::map<std::string, std::string>& conf, bool idempotent,
                             DeliveryTracker* tracker = nullptr);

// Polls `rk` (serving delivery reports) until tracker.outstanding() == 0 and the producer's
// queue is empty, suspending the calling fiber between polls. Then returns tracker.first_error,
// or timeout when the deadline passes first.
Status wait_for_deliveries(rd_kafka_t* rk, const DeliveryTracker& tracker,
                           std::chrono::milliseconds timeout);

// --- queries (suspend the calling fiber, see the file comment) -----------------------------------
// Partition ids of `topic`, sorted. Retries retriable errors (leader election, topic being
// created) until `timeout`; not_found if the topic still does not exist then.
Result<std::vector<int32_t>> partitions_of(rd_kafka_t* rk, const std::string& topic,
                                           std::chrono::milliseconds timeout);
// (low, high) watermark of one partition, asked from the broker.
Result<std::pair<int64_t, int64_t>> query_watermarks(rd_kafka_t* rk, const std::string& topic,
                                                     int32_t partition,
                                                     std::chrono::milliseconds timeout);
// High watermark (end offset) of every partition of `topic`, in one ListOffsets round per
// leader broker. Suitable for "where does this topic end right now".
Result<std::map<int32_t, int64_t>> end_offsets(rd_kafka_t* rk, const std::string& topic,
                                               std::chrono::milliseconds timeout);
// For the given partitions: their log start offset (which = RD_KAFKA_OFFSET_BEGINNING) or their
// high watermark (which = RD_KAFKA_OFFSET_END), in one ListOffsets round per leader broker.
Result<std::map<int32_t, int64_t>> offsets_at(rd_kafka_t* rk, const std::string& topic,
                                              const std::vector<int32_t>& partitions, int64_t which,
                                              std::chrono::milliseconds timeout);

// The id of the Kafka cluster `rk` is connected to (rd_kafka_clusterid: from the Metadata
// response, cached by the client), "" when the brokers report none (Kafka before 0.10) or none
// arrived within `timeout`. KafkaSpout records it with its positions.
std::string cluster_id(rd_kafka_t* rk, std::chrono::milliseconds timeout);

// --- fetch wake-up -------------------------------------------------------------------------------
// librdkafka before 2.2 stops fetching a partition once the consumer's local queue holds
// queued.min.messages (or queued.max.messages.kbytes), and looks again only when something wakes
// its broker thread, otherwise after up to 1 s (confluentinc/librdkafka#2879; 2.2 added
// fetch.queue.backoff.ms). A consumer that drains its queue faster than that idles. Any request to
// a broker wakes its thread, which then re-evaluates every partition and fetches again, so this
// sends one (a ListOffsets of the consumer's partitions, one round per leader broker) once the
// queue has been full and drained below the thresholds again, at most once per `min_interval`, on
// a thread of its own.
//
// Threading: after_consume() from the one thread that consumes the queue; it never blocks. The
// destructor stops and joins the thread; it must run before the handle is destroyed.
class FetchWaker {
 public:
  // `conf`: the consumer's properties, for its queued.min.messages / queued.max.messages.kbytes.
  FetchWaker(rd_kafka_t* rk, rd_kafka_queue_t* queue, std::string topic,
             std::vector<int32_t> partitions, const std::map<std::string, std::string>& conf,
             std::chrono::microseconds min_interval = std::chrono::milliseconds(1));
  ~FetchWaker();
  FetchWaker(const FetchWaker&) = delete;
  FetchWaker& operator=(const FetchWaker&) = delete;
  // After each consume call: `batch` holds the `n` messages just taken from the queue. The queue's
  // bytes are estimated from their sizes. Returns true if it asked for a wake-up.
  bool after_consume(rd_kafka_message_t* const* batch, size_t n);

 private:
  void poke();
  void run();
  rd_kafka_t* rk_;
  rd_kafka_queue_t* queue_;
  int64_t full_msgs_;
  int64_t full_bytes_;
  bool was_full_ = false;  // consuming thread only
  std::string topic_;
  std::vector<int32_t> partitions_;
  std::chrono::microseconds min_interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool poked_ = false;
  bool stop_ = false;
  std::thread thread_;
};

// The KafkaSpout's prefetch: at most 20k records / 16 MiB queued per consumer, fetches of at most
// 2 MiB (256 KiB per partition); read fast by pairing it with a FetchWaker.
std::map<std::string, std::string> bounded_prefetch();

// --- embedded Kafka ------------------------------------------------------------------------------
// librdkafka's in-process mock cluster: real Kafka protocol over TCP on 127.0.0.1, kept alive by an
// owner producer handle of its own, so clients may connect and disconnect freely. See DESIGN.md for
// its limits (no real transactions; ~5 MiB or 100k batches retained per partition).
// Thread-safety: all methods may be called from any thread.
class MockCluster {
 public:
  static Result<std::unique_ptr<MockCluster>> start(int brokers = 1);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  // "127.0.0.1:port,..." for bootstrap.servers.
  std::string bootstrap() const;
  int brokers() const { return brokers_; }
  // already_exists if the topic exists; invalid_argument for partitions < 1.
  Status create_topic(const std::string& topic, int partitions);
  // The cluster id its brokers report. librdkafka 2.0.2 derives it from the address of the
  // cluster's memory ("mockCluster" + hex), so a cluster started after another was destroyed in
  // the same process would often report the same id; start() retries until the id differs from
  // every id this process has handed out, so two MockClusters never share one (they hold
  // different data). Across processes the id differs only as far as address randomisation makes
  // it; see kafka/README.md.
  const std::string& cluster_id() const { return id_; }

 private:
  MockCluster() = default;
  Handle owner_;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;  // owned; destroyed before owner_
  int brokers_ = 0;
  std::string id_;
};

// librdkafka properties from a component's optional `config` map argument (values as text).
std::map<std::string, std::string> conf_from_arg(const Args& args, const std::string& name);

}  // namespace sleet::kafka
