// Named kill points (RocksDB style) make crash tests deterministic: a test arms one through the
// environment, SLEET_KILL_POINT=<name>[@<k>], and the process SIGKILLs itself the k-th time
// (default the first) execution passes that point. Unarmed, a kill point costs one relaxed load.
// Points in use: see docs/architecture.md ("Kill points").
#pragma once

namespace sleet {

void kill_point(const char* name);

}  // namespace sleet
