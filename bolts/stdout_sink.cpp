// StdoutSink: prints each tuple as a line (tsv or jsonl) on standard output. At-least-once by
// nature (a terminal cannot take a line back); meant for demos and debugging. Lines are buffered
// per input batch and written with one write(2) so tasks do not interleave within a line.
#include <unistd.h>

#include "core/builtin.hpp"
#include "core/format.hpp"

namespace sleet {
namespace {

class StdoutSink : public Bolt {
 public:
  explicit StdoutSink(const Args& a) {
    auto f = parse_format(a.string_or("format", "tsv"));
    if (!f.ok()) throw std::invalid_argument(f.status().message());
    format_ = *f;
  }
  void execute(const Tuple& t, Collector&) override {
    encode_record(format_, t, buf_);
    buf_ += '\n';
    if (buf_.size() >= 64 * 1024) flush();
  }
  Status on_barrier(CheckpointId, Collector&) override {
    flush();
    return Status::Ok();
  }
  void close() override { flush(); }
  ~StdoutSink() override { flush(); }

 private:
  void flush() {
    size_t off = 0;
    while (off < buf_.size()) {
      ssize_t w = ::write(1, buf_.data() + off, buf_.size() - off);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    buf_.clear();
  }
  RecordFormat format_ = RecordFormat::tsv;
  std::string buf_;
};

}  // namespace

SLEET_BUILTIN(describe<StdoutSink>("StdoutSink", "Prints tuples on standard output (at-least-once)",
                                   {{"format", ArgKind::string, false, "tsv (default) or jsonl",
                                     Arg("tsv")}}))

}  // namespace sleet
