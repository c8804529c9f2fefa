#include "runtime/cli/commands.hpp"

namespace sleet::cli {

void register_worker(CLI::App& app) {
  auto* cmd = app.add_subcommand("worker", "(not built yet)");
  cmd->callback([] { throw CLI::RuntimeError("sleet worker: not implemented yet", kExitFailure); });
}

}  // namespace sleet::cli
