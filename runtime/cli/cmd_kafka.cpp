#include "runtime/cli/commands.hpp"

namespace sleet::cli {

void register_kafka(CLI::App& app) {
  auto* cmd = app.add_subcommand("kafka", "(not built yet)");
  cmd->callback([] { throw CLI::RuntimeError("sleet kafka: not implemented yet", kExitFailure); });
}

}  // namespace sleet::cli
