// The live line of `sleet run` (redrawn in place on a terminal): which fields it shows and how
// they give way when the terminal is narrow. Pure functions, table-tested
// (tests/cluster/live_line_test.cpp); cli/cmd_run.cpp draws the result.
//
// Each field has a priority (0: never dropped) and one or more forms, longest first. To fit a
// width the line first shortens fields, least important first, then drops fields, least
// important (and rightmost) first, and as a last resort cuts the line at the width.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "cluster/supervisor.hpp"

namespace sleet::cluster {

struct LiveField {
  std::string name;                // for tests and debugging: "rates", "checkpoint", ...
  int priority = 0;                // 0 is kept always; larger numbers give way first
  std::vector<std::string> forms;  // longest first; at least one
};

// The fields joined by " | ", at most `width` columns (code points); width 0: no limit (every
// field in its longest form, the line written to a log off a terminal).
std::string fit_live_line(const std::vector<LiveField>& fields, size_t width);

// Columns of `s` as a terminal shows it: UTF-8 code points (the line holds no control characters).
size_t display_width(const std::string& s);

// The fields of one report: `l` as the supervisor gives it, `workers` the states of N > 1
// workers ("w0 running leader | w1 running", "" for one worker), `n_workers` their count.
std::vector<LiveField> live_fields(const std::string& topology, const LiveStatus& l,
                                   const std::string& workers, size_t n_workers);

}  // namespace sleet::cluster
