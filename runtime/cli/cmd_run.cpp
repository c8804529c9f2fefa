#include "runtime/cli/commands.hpp"

namespace sleet::cli {

void register_run(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "(not built yet)");
  cmd->callback([] { throw CLI::RuntimeError("sleet run: not implemented yet", kExitFailure); });
}

}  // namespace sleet::cli
