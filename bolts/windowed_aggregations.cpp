// Built-in windowed aggregations per key (include/sleet/windowed_bolt.hpp): WindowedCount,
// WindowedSum, WindowedMin, WindowedMax. Each emits one tuple per complete window and key:
// key, window_start, window_end, and count / sum / min / max of `value_field` (int64 while
// every value is an integer, else double; text values are refused by the error policy).
// Threading: the task's fiber (Component contract).
#include <sleet/windowed_bolt.hpp>

#include <algorithm>
#include <stdexcept>

#include "core/builtin.hpp"

namespace sleet {

namespace {

enum class Agg { count, sum, min, max };

class WindowedAggregate : public WindowedBolt {
 public:
  WindowedAggregate(const Args& a, Agg agg)
      : WindowedBolt(window_spec_from_args(a)),
        agg_(agg),
        value_field_(a.string_or("value_field", "")) {
    if (agg_ != Agg::count && value_field_.empty())
      throw std::invalid_argument("value_field is required: the input field to aggregate");
  }
  Fields output_fields() const override {
    static const char* kName[] = {"count", "sum", "min", "max"};
    return {"key", "window_start", "window_end", kName[static_cast<int>(agg_)]};
  }
  void on_window(const Value& key, const Window& w, const std::vector<Tuple>& tuples,
                 Collector& out) override {
    if (tuples.empty()) return;
    if (agg_ == Agg::count) return out.emit({key, w.start, w.end, int64_t(tuples.size())});
    bool ints = true;
    int64_t i = 0;
    double d = 0;
    bool first = true;
    for (const Tuple& t : tuples) {
      const Value& v = t.at(value_field_);
      int64_t x = 0;
      double y = 0;
      if (auto* p = std::get_if<int64_t>(&v)) {
        x = *p;
        y = static_cast<double>(*p);
      } else if (auto* q = std::get_if<double>(&v)) {
        y = *q;
        ints = false;
      } else {
        throw std::invalid_argument("value_field '" + value_field_ + "' has type " +
                                    value_type_name(type_of(v)) + ", not a number");
      }
      if (first) {
        i = x;
        d = y;
        first = false;
        continue;
      }
      switch (agg_) {
        case Agg::sum:
          i += x;
          d += y;
          break;
        case Agg::min:
          i = std::min(i, x);
          d = std::min(d, y);
          break;
        default:
          i = std::max(i, x);
          d = std::max(d, y);
      }
    }
    if (ints)
      out.emit({key, w.start, w.end, i});
    else
      out.emit({key, w.start, w.end, d});
  }

 private:
  Agg agg_;
  std::string value_field_;
};

template <Agg A>
class Windowed final : public WindowedAggregate {
 public:
  explicit Windowed(const Args& a) : WindowedAggregate(a, A) {}
};

std::vector<ArgSpec> specs(bool value) {
  auto s = window_arg_specs();
  if (value)
    s.push_back({"value_field", ArgKind::string, true, "the numeric input field to aggregate", {}});
  return s;
}

}  // namespace

SLEET_BUILTIN(describe<Windowed<Agg::count>>(
    "WindowedCount", "Counts tuples per key and window; emits key, window_start, window_end, count",
    specs(false)))
SLEET_BUILTIN(describe<Windowed<Agg::sum>>(
    "WindowedSum", "Sums value_field per key and window; emits key, window_start, window_end, sum",
    specs(true)))
SLEET_BUILTIN(describe<Windowed<Agg::min>>(
    "WindowedMin",
    "Smallest value_field per key and window; emits key, window_start, window_end, min",
    specs(true)))
SLEET_BUILTIN(describe<Windowed<Agg::max>>(
    "WindowedMax",
    "Largest value_field per key and window; emits key, window_start, window_end, max",
    specs(true)))

}  // namespace sleet
