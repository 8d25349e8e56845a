// pyctl's commands, one file each. Each Add*Command adds its subcommand to
// the root app; when the command line names it, parsing stores its Command
// in `selected` (see command.h).
#ifndef PYSERVICE_CLI_COMMANDS_COMMANDS_H_
#define PYSERVICE_CLI_COMMANDS_COMMANDS_H_

#include "CLI/CLI.hpp"
#include "cli/commands/command.h"

namespace pyservice::cli {

void AddApplyCommand(CLI::App& app, Command& selected);     // apply.cc
void AddGetCommand(CLI::App& app, Command& selected);       // get.cc
void AddDescribeCommand(CLI::App& app, Command& selected);  // describe.cc
void AddHistoryCommand(CLI::App& app, Command& selected);   // history.cc
void AddDiffCommand(CLI::App& app, Command& selected);      // diff.cc
void AddDeleteCommand(CLI::App& app, Command& selected);    // delete.cc
void AddStatusCommand(CLI::App& app, Command& selected);    // status.cc
void AddLogsCommand(CLI::App& app, Command& selected);      // logs.cc
void AddEventsCommand(CLI::App& app, Command& selected);    // events.cc
void AddRolloutCommand(CLI::App& app, Command& selected);   // rollout.cc
void AddAuthCommand(CLI::App& app, Command& selected);      // auth.cc
void AddHostCommand(CLI::App& app, Command& selected);      // host.cc

// All of the above, in the order `pyctl --help` lists them.
inline void AddAllCommands(CLI::App& app, Command& selected) {
  AddApplyCommand(app, selected);
  AddGetCommand(app, selected);
  AddDescribeCommand(app, selected);
  AddHistoryCommand(app, selected);
  AddDiffCommand(app, selected);
  AddDeleteCommand(app, selected);
  AddStatusCommand(app, selected);
  AddLogsCommand(app, selected);
  AddEventsCommand(app, selected);
  AddRolloutCommand(app, selected);
  AddAuthCommand(app, selected);
  AddHostCommand(app, selected);
}

}  // namespace pyservice::cli

#endif  // PYSERVICE_CLI_COMMANDS_COMMANDS_H_
