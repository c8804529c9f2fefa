#include "cluster/assignment.hpp"

#include <algorithm>
#include <numeric>
#include <set>
#include <sstream>

namespace sleet::cluster {

Result<std::vector<std::vector<TaskRef>>> placement_units(const PlacementTopology& t) {
  std::map<std::string, int> parallelism;
  for (const auto& c : t.components) {
    if (c.id.empty()) return Status::Invalid("topology '" + t.name + "': a component has no id");
    if (c.parallelism < 1)
      return Status::Invalid("topology '" + t.name + "': component '" + c.id +
                             "' has parallelism " + std::to_string(c.parallelism) +
                             " (must be at least 1)");
    if (!parallelism.emplace(c.id, c.parallelism).second)
      return Status::Invalid("topology '" + t.name + "': component id '" + c.id +
                             "' appears twice");
  }
  std::map<std::string, size_t> chain_of;
  for (size_t k = 0; k < t.chains.size(); ++k) {
    const auto& chain = t.chains[k];
    if (chain.empty()) return Status::Invalid("topology '" + t.name + "': an empty chain");
    for (const auto& id : chain) {
      auto it = parallelism.find(id);
      if (it == parallelism.end())
        return Status::Invalid("topology '" + t.name + "': chain names unknown component '" + id +
                               "'");
      if (it->second != parallelism[chain[0]])
        return Status::Invalid("topology '" + t.name + "': chained components '" + chain[0] +
                               "' and '" + id + "' differ in parallelism (" +
                               std::to_string(parallelism[chain[0]]) + " vs " +
                               std::to_string(it->second) + ")");
      if (!chain_of.emplace(id, k).second)
        return Status::Invalid("topology '" + t.name + "': component '" + id +
                               "' is in two chains (or twice in one)");
    }
  }
  std::vector<std::vector<TaskRef>> units;
  std::set<size_t> emitted;
  for (const auto& c : t.components) {
    auto ch = chain_of.find(c.id);
    if (ch == chain_of.end()) {
      for (int i = 0; i < c.parallelism; ++i) units.push_back({TaskRef{c.id, i}});
      continue;
    }
    if (!emitted.insert(ch->second).second) continue;  // placed with its chain's first component
    const auto& chain = t.chains[ch->second];
    // The unit's first task is of the component met first in topology order, so its spread is
    // counted for that component.
    std::vector<std::string> members{c.id};
    for (const auto& id : chain)
      if (id != c.id) members.push_back(id);
    for (int i = 0; i < c.parallelism; ++i) {
      std::vector<TaskRef> unit;
      for (const auto& id : members) unit.push_back(TaskRef{id, i});
      units.push_back(std::move(unit));
    }
  }
  return units;
}

Result<Assignment> assign(const PlacementTopology& t, const std::vector<WorkerSlots>& workers_in,
                          const Assignment& previous) {
  auto ur = placement_units(t);
  if (!ur.ok()) return ur.status();
  const auto& units = *ur;

  std::vector<WorkerSlots> workers = workers_in;
  std::sort(workers.begin(), workers.end(),
            [](const WorkerSlots& a, const WorkerSlots& b) { return a.id < b.id; });
  std::map<std::string, size_t> index;
  int64_t total = 0;
  for (size_t w = 0; w < workers.size(); ++w) {
    if (workers[w].id.empty()) return Status::Invalid("a live worker has an empty id");
    if (workers[w].slots < 0)
      return Status::Invalid("worker '" + workers[w].id + "' has " +
                             std::to_string(workers[w].slots) + " slots (must be at least 0)");
    if (!index.emplace(workers[w].id, w).second)
      return Status::Invalid("worker id '" + workers[w].id + "' is live twice");
    total += workers[w].slots;
  }
  if (static_cast<int64_t>(units.size()) > total) {
    std::string list;
    for (const auto& w : workers)
      list += (list.empty() ? "" : ", ") + w.id + ": " + std::to_string(w.slots);
    return Status::Invalid("topology '" + t.name + "' needs " + std::to_string(units.size()) +
                           " slots (one per task; chained tasks share one) but the " +
                           std::to_string(workers.size()) + " live workers offer " +
                           std::to_string(total) + (list.empty() ? "" : " (" + list + ")") +
                           "; start more workers or give them more slots (--slots)");
  }

  constexpr size_t kNone = static_cast<size_t>(-1);
  std::vector<size_t> where(units.size(), kNone);
  std::vector<int> load(workers.size(), 0);
  std::map<std::string, std::vector<int>> per_component;  // unit's first component -> per worker
  auto count = [&](const std::string& c) -> std::vector<int>& {
    auto& v = per_component[c];
    if (v.empty()) v.assign(workers.size(), 0);
    return v;
  };

  // Stickiness: in placement order, so a shrunken worker keeps its first units.
  for (size_t u = 0; u < units.size(); ++u) {
    auto p = previous.find(units[u].front());
    if (p == previous.end()) continue;
    auto w = index.find(p->second);
    if (w == index.end() || load[w->second] >= workers[w->second].slots) continue;
    where[u] = w->second;
    ++load[w->second];
    ++count(units[u].front().component)[w->second];
  }
  // Spread the orphans.
  for (size_t u = 0; u < units.size(); ++u) {
    if (where[u] != kNone) continue;
    auto& c = count(units[u].front().component);
    size_t best = kNone;
    for (size_t w = 0; w < workers.size(); ++w) {
      if (load[w] >= workers[w].slots) continue;
      if (best == kNone || c[w] < c[best] || (c[w] == c[best] && load[w] < load[best])) best = w;
    }
    // total >= units, so some worker has a free slot.
    where[u] = best;
    ++load[best];
    ++c[best];
  }

  Assignment out;
  for (size_t u = 0; u < units.size(); ++u)
    for (const auto& task : units[u]) out.emplace(task, workers[where[u]].id);
  return out;
}

Assignment rebalanced(const PlacementTopology& t, const std::vector<WorkerSlots>& workers,
                      const Assignment& previous) {
  auto ur = placement_units(t);
  if (!ur.ok() || workers.empty()) return previous;  // assign() reports the error
  std::set<std::string> live;
  for (const auto& w : workers) live.insert(w.id);
  // Units per first component, in placement order.
  std::map<std::string, std::vector<const std::vector<TaskRef>*>> by_component;
  for (const auto& u : *ur) by_component[u.front().component].push_back(&u);
  Assignment out = previous;
  for (auto& [component, units] : by_component) {
    const size_t fair = (units.size() + workers.size() - 1) / workers.size();
    std::map<std::string, std::vector<const std::vector<TaskRef>*>> held;
    for (const auto* u : units)
      if (auto p = previous.find(u->front()); p != previous.end() && live.count(p->second))
        held[p->second].push_back(u);
    for (auto& [worker, mine] : held)
      for (size_t k = fair; k < mine.size(); ++k)  // the highest indexes of an overloaded worker
        for (const auto& task : *mine[k]) out.erase(task);
  }
  // Then the total (a joiner gets work even when every component is spread thin): a worker
  // holding more than its share gives up its last units in placement order.
  // Of n workers and u units, u % n may hold floor(u / n) + 1 and the rest floor(u / n): the
  // most loaded keep the larger share (ties: the lower id), so as little as possible moves.
  std::map<std::string, std::vector<const std::vector<TaskRef>*>> held;
  for (const auto& u : *ur)
    if (auto p = out.find(u.front()); p != out.end() && live.count(p->second))
      held[p->second].push_back(&u);
  std::vector<std::pair<size_t, std::string>> by_load;  // (load, id)
  for (const auto& w : workers) by_load.emplace_back(held[w.id].size(), w.id);
  std::sort(by_load.begin(), by_load.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  const size_t floor_share = ur->size() / workers.size(), extra = ur->size() % workers.size();
  for (size_t i = 0; i < by_load.size(); ++i) {
    auto& mine = held[by_load[i].second];
    for (size_t k = floor_share + (i < extra ? 1 : 0); k < mine.size(); ++k)
      for (const auto& task : *mine[k]) out.erase(task);
  }
  return out;
}

int ClusterAssignment::index_of(const std::string& id) const {
  for (size_t i = 0; i < workers.size(); ++i)
    if (workers[i].id == id) return static_cast<int>(i);
  return -1;
}

std::string encode_assignment(const ClusterAssignment& a) {
  std::string out =
      "generation=" + std::to_string(a.generation) + "\ncoordinator=" + a.coordinator + "\n";
  for (const auto& w : a.workers)
    out += "worker=" + w.id + " " + w.address + " " + std::to_string(w.slots) + "\n";
  for (const auto& [task, worker] : a.tasks)
    out += "task=" + task.component + " " + std::to_string(task.index) + " " + worker + "\n";
  return out;
}

Result<ClusterAssignment> decode_assignment(const std::string& text) {
  if (text.empty()) return Status::NotFound("no assignment yet");
  ClusterAssignment a;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  bool have_generation = false;
  auto bad = [&](const std::string& why) {
    return Status::Corruption("assignment line " + std::to_string(n) + " '" + line + "': " + why);
  };
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) return bad("no '='");
    std::string key = line.substr(0, eq);
    std::istringstream rest(line.substr(eq + 1));
    if (key == "generation") {
      if (!(rest >> a.generation) || a.generation < 0) return bad("not a generation");
      have_generation = true;
    } else if (key == "coordinator") {
      a.coordinator = line.substr(eq + 1);
    } else if (key == "worker") {
      AssignedWorker w;
      if (!(rest >> w.id >> w.address >> w.slots)) return bad("expected: id host:port slots");
      if (!a.workers.empty() && !(a.workers.back().id < w.id)) return bad("workers not sorted");
      a.workers.push_back(std::move(w));
    } else if (key == "task") {
      TaskRef t;
      std::string worker;
      if (!(rest >> t.component >> t.index >> worker) || t.index < 0)
        return bad("expected: component index worker");
      if (a.index_of(worker) < 0) return bad("names worker '" + worker + "', not listed");
      if (!a.tasks.emplace(std::move(t), std::move(worker)).second) return bad("task twice");
    } else {
      return bad("unknown key '" + key + "'");
    }
  }
  if (!have_generation) return Status::Corruption("assignment without a generation line");
  if (!a.coordinator.empty() && a.index_of(a.coordinator) < 0)
    return Status::Corruption("assignment's coordinator '" + a.coordinator + "' is not a worker");
  return a;
}

}  // namespace sleet::cluster
