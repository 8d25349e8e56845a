// A bash completion script made from a program's command tree
// (command_tree.h): subcommands at each level, the options of the command
// and of the commands above it, file names for FILE/DIR/PATH values and for
// positional arguments.
#ifndef PYSERVICE_COMMON_CLI_DOCS_BASH_COMPLETION_H_
#define PYSERVICE_COMMON_CLI_DOCS_BASH_COMPLETION_H_

#include <string>

#include "common/cli_docs/command_tree.h"

namespace pyservice::cli_docs {

std::string RenderBashCompletion(const CommandDoc& root);

}  // namespace pyservice::cli_docs

#endif  // PYSERVICE_COMMON_CLI_DOCS_BASH_COMPLETION_H_
