#include "runtime/physical_plan.hpp"

#include <algorithm>
#include <map>
#include <string>

namespace sleet {

Result<PhysicalPlan> plan_physical(const TopologySpec& spec, const PlanOptions& options) {
  const int threads = std::max(1, options.threads);
  std::map<std::string, size_t> comp_by_id;
  for (size_t k = 0; k < spec.components.size(); ++k) {
    const ComponentSpec& cs = spec.components[k];
    if (cs.parallelism < 1)
      return Status::Invalid("component '" + cs.id + "' has parallelism " +
                             std::to_string(cs.parallelism) + " (must be at least 1)");
    comp_by_id[cs.id] = k;
  }
  for (auto& st : spec.streams) {
    if (!comp_by_id.count(st.from) || !comp_by_id.count(st.to))
      return Status::Invalid("stream " + st.from + " -> " + st.to + " names an unknown component");
    if (st.grouping.type == GroupingType::direct)
      return Status::Invalid("stream " + st.from + " -> " + st.to +
                             ": direct grouping is not supported yet");
  }
  auto parallelism = [&](const std::string& id) {
    return spec.components[comp_by_id.at(id)].parallelism;
  };

  // Chaining decided per stream: local_or_shuffle into a component of the same parallelism whose
  // only input it is. Task i of the target then runs inside task i of the source, on its thread,
  // which is what local_or_shuffle asks for (a target on the producer's thread), minus the channel.
  std::map<std::string, int> incoming;
  for (auto& st : spec.streams) incoming[st.to]++;
  std::map<std::string, std::string> chained_into;  // target component -> source component
  if (options.chaining) {
    for (auto& st : spec.streams) {
      if (st.grouping.type != GroupingType::local_or_shuffle || st.from == st.to ||
          incoming[st.to] != 1 || parallelism(st.from) != parallelism(st.to))
        continue;
      chained_into[st.to] = st.from;
    }
  }
  // The head of a chain: the first component up the chain that is not chained itself. A cycle has
  // none (the validator refuses cycles; this keeps the plan safe on its own): its members are
  // unchained.
  std::map<std::string, std::string> chain_head;  // chained component -> its chain's head
  for (auto& [to, from] : chained_into) {
    std::string head = from;
    for (size_t hops = 0; chained_into.count(head) && hops <= chained_into.size(); ++hops)
      head = chained_into.at(head);
    if (!chained_into.count(head)) chain_head[to] = head;
  }
  std::erase_if(chained_into, [&](const auto& kv) { return !chain_head.count(kv.first); });

  PhysicalPlan plan;
  for (size_t k = 0; k < spec.components.size(); ++k) {
    plan.first_task.push_back(plan.tasks.size());
    for (int i = 0; i < spec.components[k].parallelism; ++i) {
      PlannedTask t;
      t.component = k;
      t.index = TaskIndex{i};
      plan.tasks.push_back(t);
    }
  }
  auto name_of = [&](size_t task) {
    return spec.components[plan.tasks[task].component].id + "[" +
           std::to_string(plan.tasks[task].index.value) + "]";
  };
  if (!options.worker_of.empty()) {
    if (options.worker_of.size() != plan.tasks.size())
      return Status::Invalid("placement lists " + std::to_string(options.worker_of.size()) +
                             " task(s), the topology has " + std::to_string(plan.tasks.size()) +
                             ": the assignment was computed for another topology");
    for (size_t t = 0; t < plan.tasks.size(); ++t) {
      if (options.worker_of[t] < 0)
        return Status::Invalid("placement puts task " + name_of(t) + " on worker " +
                               std::to_string(options.worker_of[t]) + " (must be at least 0)");
      plan.tasks[t].worker = options.worker_of[t];
    }
  }
  auto is_chained = [&](size_t component) {
    return chained_into.count(spec.components[component].id) > 0;
  };
  // A chained task runs in its producer's fiber: both must be on one worker.
  for (auto& [to, from] : chained_into) {
    const size_t tc = comp_by_id[to], fc = comp_by_id[from];
    for (int i = 0; i < parallelism(to); ++i) {
      const size_t t = plan.task_of(tc, TaskIndex{i}), f = plan.task_of(fc, TaskIndex{i});
      if (plan.tasks[t].worker != plan.tasks[f].worker)
        return Status::Invalid(
            "placement splits a chain: task " + name_of(t) + " is chained to " + name_of(f) +
            " (local_or_shuffle, same parallelism, only input) but placed on worker " +
            std::to_string(plan.tasks[t].worker) + ", not on " + name_of(f) + "'s worker " +
            std::to_string(plan.tasks[f].worker) +
            ": the assignment must keep a chain on one worker (or turn chaining off)");
    }
  }
  // Threads: each worker's heads of chains (and unchained tasks) round robin in task order; a
  // chained task on its head's thread.
  std::map<int, int> seq;  // per worker: its unchained tasks so far
  for (auto& t : plan.tasks)
    if (!is_chained(t.component)) t.thread = seq[t.worker]++ % threads;
  for (auto& t : plan.tasks) {
    auto h = chain_head.find(spec.components[t.component].id);
    if (h != chain_head.end())
      t.thread = plan.tasks[plan.task_of(comp_by_id[h->second], t.index)].thread;
  }
  // Input channels per downstream task: one per upstream task per stream.
  for (auto& st : spec.streams) {
    const size_t to = comp_by_id[st.to];
    if (is_chained(to)) continue;
    for (int i = 0; i < parallelism(st.to); ++i)
      plan.tasks[plan.task_of(to, TaskIndex{i})].inputs +=
          static_cast<size_t>(parallelism(st.from));
  }
  std::vector<size_t> next_input(plan.tasks.size(), 0);
  for (size_t si = 0; si < spec.streams.size(); ++si) {
    const StreamSpec& st = spec.streams[si];
    const size_t from = comp_by_id[st.from], to = comp_by_id[st.to];
    const bool chain = is_chained(to);
    for (int s = 0; s < parallelism(st.from); ++s) {
      PlannedEdge e;
      e.stream = si;
      e.from = plan.task_of(from, TaskIndex{s});
      e.grouping = st.grouping.type;
      if (chain) {
        // Same parallelism: source task s feeds target task s, nothing else.
        e.chain = plan.task_of(to, TaskIndex{s});
        plan.tasks[*e.chain].chained_from = e.from;
      } else {
        for (int d = 0; d < parallelism(st.to); ++d) {
          PlannedChannel c;
          c.stream = si;
          c.from = e.from;
          c.to = plan.task_of(to, TaskIndex{d});
          c.input = next_input[c.to]++;
          const PlannedTask &src = plan.tasks[c.from], &dst = plan.tasks[c.to];
          if (src.worker == dst.worker && src.thread == dst.thread)
            e.local.push_back(e.channels.size());
          e.channels.push_back(plan.channels.size());
          plan.channels.push_back(c);
        }
      }
      plan.edges.push_back(std::move(e));
    }
  }
  return plan;
}

}  // namespace sleet
