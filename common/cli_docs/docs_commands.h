// The hidden `completion bash|zsh` and `man` subcommands every program has:
// they print the program's shell completion and man page, made from the same CLI11
// app that parses its command line. The build runs them to make the files
// the Debian packages install (deploy/debian/).
//
// Usage, in main():
//   DocsCommands docs;
//   AddDocsCommands(app, docs);
//   ... app.parse(argc, argv) ...
//   if (std::optional<int> done = RunDocsCommand(app, docs, ManPage(), std::cout)) return *done;
#ifndef PYSERVICE_COMMON_CLI_DOCS_DOCS_COMMANDS_H_
#define PYSERVICE_COMMON_CLI_DOCS_DOCS_COMMANDS_H_

#include <optional>
#include <ostream>
#include <string>

#include "CLI/CLI.hpp"
#include "common/cli_docs/man_page.h"

namespace pyservice::cli_docs {

struct DocsCommands {
  CLI::App* completion = nullptr;
  CLI::App* man = nullptr;
  std::string shell;
};

// Adds both as hidden subcommands of `app`; `docs` must outlive parsing.
void AddDocsCommands(CLI::App& app, DocsCommands& docs);

// After a successful parse: when one of them was given, writes its output
// to `out` and returns the exit status; otherwise nullopt.
std::optional<int> RunDocsCommand(const CLI::App& app, const DocsCommands& docs,
                                  const ManPageInfo& info, std::ostream& out);

}  // namespace pyservice::cli_docs

#endif  // PYSERVICE_COMMON_CLI_DOCS_DOCS_COMMANDS_H_
