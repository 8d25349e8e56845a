// pyctl: the operator CLI (INTERFACES.md). Parses the command line and runs
// the command it names; everything else lives in cli/commands/.
#include <iostream>
#include <optional>

#include <grpc/support/log.h>

#include "CLI/CLI.hpp"
#include "cli/commands/command.h"
#include "cli/commands/commands.h"
#include "cli/man_page_info.h"
#include "common/cli_docs/docs_commands.h"
#include "common/logging/logging.h"

namespace {
constexpr int kExitUsage = 2;
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pyctl: operate pyservice apps through the controller"};
  app.name("pyctl");
  // Global options may follow the subcommand too: `pyctl get apps -o json`.
  app.fallthrough();
  app.require_subcommand(1);
  pyservice::cli::GlobalOptions options;
  pyservice::cli::Command command;
  pyservice::cli::AddGlobalOptions(app, options);
  pyservice::cli::AddAllCommands(app, command);
  pyservice::cli_docs::DocsCommands docs;
  pyservice::cli_docs::AddDocsCommands(app, docs);
  // CLI11 reports usage errors by exception; this is the boundary.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::cerr << "pyctl: " << e.what() << " (see pyctl --help)\n";
    return kExitUsage;
  }
  if (std::optional<int> done = pyservice::cli_docs::RunDocsCommand(
          app, docs, pyservice::cli::PyctlManPage(), std::cout)) {
    return *done;
  }
  // Library warnings (e.g. --insecure's) go to stderr, never into output.
  (void)pyservice::SetUpLogging("pyctl", "warn");
  // gRPC's own log lines (e.g. "Handshake failed ...") would break the
  // one-line error: the failure reaches the operator through the status.
  gpr_set_log_function([](gpr_log_func_args*) {});
  return pyservice::cli::RunCommand(command, options, std::cout, std::cerr);
}
