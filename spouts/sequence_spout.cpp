// SequenceSpout: emits the integers [0, count) split across its tasks (task i emits the numbers n
// with n % parallelism == i), as field "n" plus a "text" field "<n>". A deterministic, Kafka-free
// source for tests and benchmarks of the runtime. Its position is reported like a Kafka partition
// (topic "sequence:<component>", partition = task, offset = next index) so recovery works the same.
// With `keys` K > 0 the "text" field is "<n % K>": a keyed job over a vocabulary of K keys that
// keeps updating them once all are there (bench/recovery_bench --state-keys).
#include <sleet/this_task.hpp>

#include "core/builtin.hpp"

namespace sleet {
namespace {

class SequenceSpout : public Spout {
 public:
  explicit SequenceSpout(const Args& a)
      : count_(a.int_or("count", 1000)),
        batch_(std::max<int64_t>(1, a.int_or("batch", 256))),
        keys_(std::max<int64_t>(0, a.int_or("keys", 0))) {}

  Fields output_fields() const override { return {"n", "text"}; }

  Status open(Context& ctx) override {
    topic_ = "sequence:" + ctx.component;
    task_ = ctx.task.value;
    par_ = ctx.parallelism;
    for (auto& p : seek_to_)
      if (p.topic == topic_ && p.partition.value == task_) next_ = p.next.value;
    return Status::Ok();
  }

  // Called before open(): remember, apply once we know our topic and task.
  Status seek(const SourcePositions& ps) override {
    seek_to_ = ps;
    return Status::Ok();
  }

  Result<size_t> next_batch(Collector& out) override {
    size_t emitted = 0;
    while (emitted < static_cast<size_t>(batch_)) {
      int64_t n = next_ * par_ + task_;
      if (n >= count_) break;
      out.emit({n, std::to_string(keys_ > 0 ? n % keys_ : n)});
      ++next_;
      ++emitted;
    }
    return emitted;
  }

  SourcePositions positions() const override {
    return {SourcePosition{topic_, PartitionId{task_}, Offset{next_}}};
  }
  bool drained() const override { return next_ * par_ + task_ >= count_; }

 private:
  int64_t count_;
  int64_t batch_;
  int64_t keys_;  // 0: text is n itself
  std::string topic_;
  int task_ = 0;
  int par_ = 1;
  int64_t next_ = 0;
  SourcePositions seek_to_;
};

}  // namespace

SLEET_BUILTIN(describe<SequenceSpout>(
    "SequenceSpout", "Emits the integers 0..count-1 (fields n, text); for tests and benchmarks",
    {{"count", ArgKind::integer, false, "how many numbers in all", Arg(int64_t{1000})},
     {"batch", ArgKind::integer, false, "numbers per next_batch call", Arg(int64_t{256})},
     {"keys", ArgKind::integer, false, "if > 0, text is n modulo this (a vocabulary of keys)",
      Arg(int64_t{0})}}))

}  // namespace sleet
