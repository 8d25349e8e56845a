// A program's command line as plain data, read from its CLI11 app: the one
// source the man pages and shell completions are made from, so neither can
// drift from what the program accepts.
#ifndef PYSERVICE_COMMON_CLI_DOCS_COMMAND_TREE_H_
#define PYSERVICE_COMMON_CLI_DOCS_COMMAND_TREE_H_

#include <string>
#include <vector>

#include "CLI/CLI.hpp"

namespace pyservice::cli_docs {

struct OptionDoc {
  std::vector<std::string> names;  // "-o", "--output": short ones first
  std::string value_name;          // "FILE"; empty for a flag
  std::string description;
  std::string env;                 // environment variable that sets it, if any
};

struct PositionalDoc {
  std::string name;
  std::string description;
  bool required = false;
  bool repeatable = false;
};

struct CommandDoc {
  // From the program down: {"pyctl", "rollout", "status"}.
  std::vector<std::string> path;
  std::string description;
  std::vector<OptionDoc> options;
  std::vector<PositionalDoc> positionals;
  std::vector<CommandDoc> subcommands;
};

// Subcommands and options in the group "" are hidden (CLI11's convention):
// the docs subcommands themselves and internal switches. --help is left out
// (every command has it; the man page says so once).
CommandDoc ReadCommandTree(const CLI::App& app);

// Marks a subcommand hidden: left out of --help, the man page and the
// completions.
void Hide(CLI::App* subcommand);

// "pyctl rollout status".
std::string JoinPath(const std::vector<std::string>& path);

}  // namespace pyservice::cli_docs

#endif  // PYSERVICE_COMMON_CLI_DOCS_COMMAND_TREE_H_
