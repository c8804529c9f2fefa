#include "runtime/cli/commands.hpp"

namespace sleet::cli {

void register_validate(CLI::App& app) {
  auto* cmd = app.add_subcommand("validate", "(not built yet)");
  cmd->callback([] { throw CLI::RuntimeError("sleet validate: not implemented yet", kExitFailure); });
}

}  // namespace sleet::cli
