// The blob chain of a managed KeyedState (core/checkpoint_contract.hpp's StateLink): when a
// checkpoint writes a full base and when a delta, how a new link extends a chain, and what makes
// a chain read from a manifest usable. Pure functions, no I/O; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <sleet/status.hpp>

#include "core/checkpoint_contract.hpp"

namespace sleet {

struct LinkPlan {
  bool base = true;
  CheckpointId since{0};  // a delta holds the changes after this checkpoint (the chain's tip)
  const char* why = "";   // for logs and tests
};

// At most this many links in a chain; the next checkpoint after that writes a base, so recovery
// never reads more than this many blobs per state.
inline constexpr size_t kMaxChainLinks = 32;

// The next link after the committed `chain` (base first, deltas in checkpoint order; empty: no
// committed checkpoint holds this state). A base when the chain is empty or malformed, when it
// is kMaxChainLinks long, or when its deltas together are larger than its base (the size ratio:
// replaying them would read more than a new base costs); else a delta since the chain's tip.
LinkPlan plan_next_link(const std::vector<StateLink>& chain);

// `chain` with `link` appended; a base link replaces the chain.
std::vector<StateLink> extend_chain(std::vector<StateLink> chain, const StateLink& link);

// Refuses (Code::corruption, prefixed with `where`) a chain recovery cannot replay: empty, not
// starting with a base, a base after the first link, ids not increasing, or links of several
// states mixed.
Status check_chain(const std::vector<StateLink>& chain, const std::string& where);

// The blob name of state `state` of the task `task_key` ("count-3@counts").
std::string keyed_state_blob_key(const std::string& task_key, const std::string& state);

// Refuses a KeyedStateRef name that cannot be part of a blob name (see sleet/keyed_state.hpp).
Status check_keyed_state_name(const std::string& name);

}  // namespace sleet
