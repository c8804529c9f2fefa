// WindowedBolt (include/sleet/windowed_bolt.hpp). Everything runs on the task's fiber.
#include <sleet/windowed_bolt.hpp>

#include <cereal/types/string.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <stdexcept>

#include "core/format.hpp"

namespace sleet {

namespace {

// floor(a / b) for b > 0, also for negative a (timestamps before the epoch).
int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && (a < 0)) --q;
  return q;
}

// Orders keys deterministically (Value has no operator< for Bytes): type, then text.
std::string key_bytes(const Value& v) {
  std::string s(1, static_cast<char>('0' + v.index()));
  append_text(v, s);
  return s;
}

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Stamps what on_window emits with the window's event time (end - 1): downstream, a result is
// never later than the watermark that fired it.
class StampingCollector final : public Collector {
 public:
  StampingCollector(Collector& out, int64_t ts) : out_(out), ts_(ts) {}
  using Collector::emit;
  void emit(Values&& v) override { out_.emit_at(ts_, std::move(v)); }
  void emit_at(int64_t ts, Values&& v) override { out_.emit_at(ts, std::move(v)); }

 private:
  Collector& out_;
  int64_t ts_;
};

}  // namespace

// Window contents hold their own copies of the input's field names, so a restored tuple can
// point at them (the upstream's Fields are not in a checkpoint).
struct WindowedBolt::Impl {
  struct Pane {
    Value key;
    Window window;
    std::vector<Tuple> tuples;
    bool fired = false;
  };
  // (window end, window start, key bytes): firing order is end, then start, then key.
  std::map<std::tuple<int64_t, int64_t, std::string>, Pane> panes;
  struct Counted {
    Value key;
    int64_t seen = 0;          // tuples of this key so far
    std::deque<Tuple> tuples;  // the last `size` of them (tumbling: since the last window)
  };
  std::map<std::string, Counted> counted;
  bool emit_late = false;  // output_streams() declares kLateStream with late_fields() (open())

  std::vector<std::unique_ptr<Fields>> fields;       // interned
  std::map<const Fields*, const Fields*> by_source;  // upstream Fields -> interned copy

  const Fields* intern(const Fields* f) {
    if (!f) return nullptr;
    auto it = by_source.find(f);
    if (it != by_source.end()) return it->second;
    for (auto& mine : fields)
      if (*mine == *f) return by_source[f] = mine.get();
    fields.push_back(std::make_unique<Fields>(*f));
    return by_source[f] = fields.back().get();
  }
  Tuple copy(const Tuple& t) {
    Tuple c(intern(t.fields()), t.values());
    c.set_timestamp(t.timestamp());
    return c;
  }
  uint64_t field_index(const Fields* f) const {
    for (size_t i = 0; i < fields.size(); ++i)
      if (fields[i].get() == f) return i + 1;
    return 0;  // none
  }

  template <class W>
  void save_tuple(W& w, const Tuple& t) const {
    w(field_index(t.fields()), t.timestamp(), static_cast<uint64_t>(t.size()));
    for (const Value& v : t.values()) w(v);
  }
  template <class R>
  Tuple load_tuple(R& r) const {
    uint64_t fi = 0, n = 0;
    int64_t ts = kNoTimestamp;
    r(fi, ts, n);
    if (fi > fields.size()) throw std::runtime_error("window tuple names unknown fields");
    Values vals;
    for (uint64_t i = 0; i < n; ++i) {
      Value v;
      r(v);
      vals.push_back(std::move(v));
    }
    Tuple t(fi ? fields[fi - 1].get() : nullptr, std::move(vals));
    t.set_timestamp(ts);
    return t;
  }
};

std::vector<ArgSpec> window_arg_specs() {
  return {
      {"window", ArgKind::string, false,
       "event_time (default: windows of Tuple timestamps, fired by watermarks), processing_time "
       "(the wall clock) or count (tuples per key)",
       Arg("event_time")},
      {"size_ms", ArgKind::integer, false, "time windows: length in ms (required)", {}},
      {"slide_ms",
       ArgKind::integer,
       false,
       "time windows: a sliding window starts every slide_ms (default: tumbling)",
       {}},
      {"size", ArgKind::integer, false, "count windows: tuples per window (required)", {}},
      {"slide",
       ArgKind::integer,
       false,
       "count windows: fire every `slide` tuples of a key over its last `size` (default: "
       "tumbling)",
       {}},
      {"allowed_lateness_ms", ArgKind::integer, false,
       "event time: how long after the watermark passed a window's end a late tuple still "
       "updates it (it fires again); later ones go to on_late",
       Arg(int64_t{0})},
      {"key_field", ArgKind::string, false,
       "the input field windows are kept per (default: none, one key for all)", Arg("")},
  };
}

WindowSpec window_spec_from_args(const Args& a) {
  WindowSpec s;
  const std::string kind = a.string_or("window", "event_time");
  if (kind == "event_time")
    s.kind = WindowSpec::Kind::event_time;
  else if (kind == "processing_time")
    s.kind = WindowSpec::Kind::processing_time;
  else if (kind == "count")
    s.kind = WindowSpec::Kind::count;
  else
    throw std::invalid_argument("window must be event_time, processing_time or count, got '" +
                                kind + "'");
  const bool count = s.kind == WindowSpec::Kind::count;
  const char* size_arg = count ? "size" : "size_ms";
  const char* slide_arg = count ? "slide" : "slide_ms";
  const char* wrong_size = count ? "size_ms" : "size";
  if (a.find(wrong_size) && !a.find(wrong_size)->is_null())
    throw std::invalid_argument(std::string(wrong_size) + " does not apply to window: " + kind +
                                "; use " + size_arg);
  s.size = a.int_or(size_arg, 0);
  if (s.size <= 0)
    throw std::invalid_argument(std::string(size_arg) + " must be > 0 for window: " + kind);
  s.slide = a.int_or(slide_arg, 0);
  if (s.slide < 0 || s.slide > s.size)
    throw std::invalid_argument(std::string(slide_arg) + " must be between 1 and " + size_arg +
                                " (" + std::to_string(s.size) + "), or absent for tumbling");
  if (s.slide == s.size) s.slide = 0;
  s.allowed_lateness_ms = a.int_or("allowed_lateness_ms", 0);
  if (s.allowed_lateness_ms < 0) throw std::invalid_argument("allowed_lateness_ms must be >= 0");
  if (s.allowed_lateness_ms > 0 && s.kind != WindowSpec::Kind::event_time)
    throw std::invalid_argument("allowed_lateness_ms applies to window: event_time only");
  s.key_field = a.string_or("key_field", "");
  return s;
}

WindowedBolt::WindowedBolt(WindowSpec spec)
    : spec_(std::move(spec)), impl_(std::make_unique<Impl>()) {
  if (spec_.size <= 0) throw std::invalid_argument("window size must be > 0");
  if (spec_.slide < 0 || spec_.slide > spec_.size)
    throw std::invalid_argument("window slide must be between 0 (tumbling) and the size");
  if (spec_.slide == spec_.size) spec_.slide = 0;
}

WindowedBolt::~WindowedBolt() = default;

Fields WindowedBolt::late_fields() {
  return {"key", "value", "timestamp", "source_component", "source_stream"};
}

std::vector<StreamDecl> WindowedBolt::output_streams() const {
  return {{std::string(kDefaultStream), output_fields()},
          {std::string(kLateStream), late_fields()}};
}

Values WindowedBolt::late_values(const Tuple& t) const {
  Values v;
  v.reserve(5);
  const Fields* f = t.fields();
  const int key = f && !spec_.key_field.empty() ? f->index_of(spec_.key_field) : -1;
  v.emplace_back(key >= 0 ? t.at(static_cast<size_t>(key)) : Value(std::string()));
  const int value = f ? f->index_of("value") : -1;
  if (value >= 0) {
    v.emplace_back(t.at(static_cast<size_t>(value)));
  } else {
    std::string json;
    encode_record(RecordFormat::jsonl, t, json);
    v.emplace_back(std::move(json));
  }
  v.emplace_back(t.timestamp() == kNoTimestamp ? int64_t{-1} : t.timestamp());
  v.emplace_back(t.source().component);
  v.emplace_back(t.source().stream);
  return v;
}

void WindowedBolt::on_late(const Tuple& t, Collector& out) {
  if (late_) late_->add(1);
  // Plain emit stamps the output with the input's event time: the late tuple's own.
  if (impl_->emit_late) out.emit(kLateStream, late_values(t));
}

Status WindowedBolt::open(Context& ctx) {
  if (ctx.counter) late_ = ctx.counter("late");
  impl_->emit_late = false;
  for (const StreamDecl& d : output_streams())
    if (d.name == kLateStream) impl_->emit_late = d.fields == late_fields();
  if (spec_.kind != WindowSpec::Kind::processing_time) return Status::Ok();
  // Fire within a tenth of the window's step of its end, between 10 ms and 1 s.
  const int64_t step = spec_.slide ? spec_.slide : spec_.size;
  return ctx.schedule_every(std::chrono::milliseconds(std::clamp<int64_t>(step / 10, 10, 1000)));
}

void WindowedBolt::execute(const Tuple& t, Collector& out) {
  switch (spec_.kind) {
    case WindowSpec::Kind::count:
      return add_counted(t, out);
    case WindowSpec::Kind::processing_time:
      return add_to_windows(t, wall_clock_ms(), out);
    case WindowSpec::Kind::event_time:
      if (t.timestamp() == kNoTimestamp) return on_late(t, out);
      return add_to_windows(t, t.timestamp(), out);
  }
}

void WindowedBolt::add_to_windows(const Tuple& t, int64_t time, Collector& out) {
  const Value key = spec_.key_field.empty() ? Value(std::string()) : t.at(spec_.key_field);
  const std::string kb = key_bytes(key);
  const int64_t step = spec_.slide ? spec_.slide : spec_.size;
  const bool event = spec_.kind == WindowSpec::Kind::event_time;
  bool placed = false;
  std::vector<Impl::Pane*> refire;
  for (int64_t start = floor_div(time, step) * step; start > time - spec_.size; start -= step) {
    const Window w{start, start + spec_.size};
    // Too old: its cleanup time (end - 1 + lateness) has passed the watermark.
    if (event && watermark_ != kNoTimestamp && w.end - 1 + spec_.allowed_lateness_ms <= watermark_)
      continue;
    auto [it, fresh] = impl_->panes.try_emplace({w.end, w.start, kb});
    Impl::Pane& p = it->second;
    if (fresh) {
      p.key = key;
      p.window = w;
    }
    p.tuples.push_back(impl_->copy(t));
    placed = true;
    if (p.fired) refire.push_back(&p);  // late but allowed: fire again with it
  }
  if (!placed) return on_late(t, out);
  for (Impl::Pane* p : refire) fire(p->key, p->window, p->tuples, out);
}

void WindowedBolt::add_counted(const Tuple& t, Collector& out) {
  const Value key = spec_.key_field.empty() ? Value(std::string()) : t.at(spec_.key_field);
  auto [it, fresh] = impl_->counted.try_emplace(key_bytes(key));
  Impl::Counted& c = it->second;
  if (fresh) c.key = key;
  c.tuples.push_back(impl_->copy(t));
  ++c.seen;
  if (!spec_.slide) {
    if (static_cast<int64_t>(c.tuples.size()) < spec_.size) return;
    std::vector<Tuple> v(std::make_move_iterator(c.tuples.begin()),
                         std::make_move_iterator(c.tuples.end()));
    c.tuples.clear();
    fire(c.key, Window{c.seen - spec_.size, c.seen}, v, out);
    return;
  }
  if (static_cast<int64_t>(c.tuples.size()) > spec_.size) c.tuples.pop_front();
  if (c.seen % spec_.slide != 0) return;
  std::vector<Tuple> v(c.tuples.begin(), c.tuples.end());
  fire(c.key, Window{c.seen - static_cast<int64_t>(v.size()), c.seen}, v, out);
}

void WindowedBolt::fire(const Value& key, const Window& w, const std::vector<Tuple>& tuples,
                        Collector& out) {
  StampingCollector stamped(out, spec_.kind == WindowSpec::Kind::count ? kNoTimestamp : w.end - 1);
  on_window(key, w, tuples, spec_.kind == WindowSpec::Kind::count ? out : stamped);
}

// Fires every window whose end - 1 <= time, in end order; drops those past their lateness.
void WindowedBolt::fire_until(int64_t time, Collector& out) {
  auto& panes = impl_->panes;
  for (auto it = panes.begin(); it != panes.end();) {
    Impl::Pane& p = it->second;
    if (p.window.end - 1 > time) break;  // ordered by end: nothing later is complete
    if (!p.fired) {
      p.fired = true;
      fire(p.key, p.window, p.tuples, out);
    }
    if (p.window.end - 1 + spec_.allowed_lateness_ms <= time)
      it = panes.erase(it);
    else
      ++it;
  }
}

Status WindowedBolt::on_watermark(int64_t watermark, Collector& out) {
  if (spec_.kind != WindowSpec::Kind::event_time || watermark <= watermark_) return Status::Ok();
  watermark_ = watermark;
  fire_until(watermark, out);
  return Status::Ok();
}

Status WindowedBolt::on_timer(Collector& out) {
  if (spec_.kind != WindowSpec::Kind::processing_time) return Status::Ok();
  watermark_ = std::max(watermark_, wall_clock_ms());
  fire_until(watermark_, out);
  return Status::Ok();
}

size_t WindowedBolt::pending_windows() const {
  size_t n = impl_->panes.size();
  for (auto& [k, c] : impl_->counted) n += !c.tuples.empty();
  return n;
}

void WindowedBolt::snapshot_state(StateWriter& w) const {
  const Impl& m = *impl_;
  w(watermark_, static_cast<uint64_t>(m.fields.size()));
  for (auto& f : m.fields) w(f->names());
  w(static_cast<uint64_t>(m.panes.size()));
  for (auto& [k, p] : m.panes) {
    w(p.key, p.window, p.fired, static_cast<uint64_t>(p.tuples.size()));
    for (const Tuple& t : p.tuples) m.save_tuple(w, t);
  }
  w(static_cast<uint64_t>(m.counted.size()));
  for (auto& [k, c] : m.counted) {
    w(c.key, c.seen, static_cast<uint64_t>(c.tuples.size()));
    for (const Tuple& t : c.tuples) m.save_tuple(w, t);
  }
}

Status WindowedBolt::restore_state(StateReader& r, uint32_t version) {
  if (version != 1)
    return Status::Incompatible("windowed bolt state version " + std::to_string(version) +
                                " unknown (this Sleet writes 1)");
  auto fresh = std::make_unique<Impl>();
  uint64_t nf = 0;
  r(watermark_, nf);
  for (uint64_t i = 0; i < nf; ++i) {
    std::vector<std::string> names;
    r(names);
    fresh->fields.push_back(std::make_unique<Fields>(std::move(names)));
  }
  uint64_t np = 0;
  r(np);
  for (uint64_t i = 0; i < np; ++i) {
    Impl::Pane p;
    uint64_t nt = 0;
    r(p.key, p.window, p.fired, nt);
    for (uint64_t k = 0; k < nt; ++k) p.tuples.push_back(fresh->load_tuple(r));
    auto key = std::make_tuple(p.window.end, p.window.start, key_bytes(p.key));
    fresh->panes.emplace(std::move(key), std::move(p));
  }
  uint64_t nc = 0;
  r(nc);
  for (uint64_t i = 0; i < nc; ++i) {
    Impl::Counted c;
    uint64_t nt = 0;
    r(c.key, c.seen, nt);
    for (uint64_t k = 0; k < nt; ++k) c.tuples.push_back(fresh->load_tuple(r));
    std::string kb = key_bytes(c.key);
    fresh->counted.emplace(std::move(kb), std::move(c));
  }
  fresh->emit_late = impl_->emit_late;
  impl_ = std::move(fresh);
  return Status::Ok();
}

}  // namespace sleet
