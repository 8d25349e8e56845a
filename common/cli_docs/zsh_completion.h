// A zsh completion script made from a program's command tree, offering the
// same words as the bash one (completion_table.h) with their descriptions.
// Installed as _PROGRAM in a directory of $fpath, or sourced after
// compinit.
#ifndef PYSERVICE_COMMON_CLI_DOCS_ZSH_COMPLETION_H_
#define PYSERVICE_COMMON_CLI_DOCS_ZSH_COMPLETION_H_

#include <string>

#include "common/cli_docs/command_tree.h"

namespace pyservice::cli_docs {

std::string RenderZshCompletion(const CommandDoc& root);

}  // namespace pyservice::cli_docs

#endif  // PYSERVICE_COMMON_CLI_DOCS_ZSH_COMPLETION_H_
