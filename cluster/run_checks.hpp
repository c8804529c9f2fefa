// Refusals `sleet run` makes before starting anything, for set-ups that would otherwise wait
// forever: input loaded into a topic no spout reads (a misspelt --input topic), and
// --until-drained without checkpoints (drained is judged on a committed checkpoint). Each returns
// the refusal (the thing, the reason, the way out), or "" when the run may go ahead. Pure; called
// by cmd_run.cpp, which exits 2 on a refusal.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <sleet/topology.hpp>

namespace sleet::cluster {

// `inputs`: topic -> the files `sleet run` would load into it (from --input and `topics: input:`).
std::string refuse_unread_inputs(const TopologySpec& spec,
                                 const std::map<std::string, std::vector<std::string>>& inputs);

std::string refuse_drain_without_checkpoints(const TopologySpec& spec, bool until_drained);

}  // namespace sleet::cluster
