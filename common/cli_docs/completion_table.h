// What a shell completes at each command level, read from a program's
// command tree (command_tree.h): the one table the bash and zsh scripts are
// both rendered from, so the two shells offer the same words.
#ifndef PYSERVICE_COMMON_CLI_DOCS_COMPLETION_TABLE_H_
#define PYSERVICE_COMMON_CLI_DOCS_COMPLETION_TABLE_H_

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/cli_docs/command_tree.h"

namespace pyservice::cli_docs {

struct CompletionWord {
  std::string word;
  std::string description;
};

struct CompletionLevel {
  std::string path;  // "pyctl rollout"
  std::vector<CompletionWord> subcommands;
  // The command's options, those of the commands above it (CLI11 hands an
  // option a command does not know to its parent: `pyctl get apps -o
  // json`) and --help; sorted by word, each once.
  std::vector<CompletionWord> options;
};

struct CompletionTable {
  std::vector<CompletionLevel> levels;  // the root first, then depth first
  std::set<std::string> path_options;   // options whose value is a file name
  std::set<std::string> value_options;  // options that take another value
};

CompletionTable ReadCompletionTable(const CommandDoc& root);

// A shell's case arms for one kind of word of every level ("PATH" -> words).
using CaseArmsRenderer = std::function<std::string(
    const CompletionTable&, std::vector<CompletionWord> CompletionLevel::*words)>;

// Fills a completion script template: SUBCOMMANDS and OPTIONS with `arms`
// of each level's subcommands and options, PATH_OPTIONS and VALUE_OPTIONS
// with case patterns (a|b), PROGRAM with the program and FN with its
// completion function's name (_pyservice_agent).
std::string RenderCompletionScript(absl::string_view script_template, const CommandDoc& root,
                                   const CaseArmsRenderer& arms);

}  // namespace pyservice::cli_docs

#endif  // PYSERVICE_COMMON_CLI_DOCS_COMPLETION_TABLE_H_
