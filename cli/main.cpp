#include <sleet/registry.hpp>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Sleet: exactly-once stream topologies"};
  app.set_version_flag("--version", std::string("sleet ") + sleet::kVersion);
  app.require_subcommand(1);
  sleet::cli::register_run(app);
  sleet::cli::register_worker(app);
  sleet::cli::register_validate(app);
  sleet::cli::register_kafka(app);
  sleet::cli::register_cluster(app);
  sleet::cli::register_status(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();  // a command's own exit code (CLI::RuntimeError is a ParseError)
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the message; a bad command line is exit 2 like a bad topology file (help and
    // --version are CLI11's "errors" with code 0).
    int code = app.exit(e);
    return code == 0 ? 0 : sleet::cli::kExitUsage;
  }
  return 0;
}
