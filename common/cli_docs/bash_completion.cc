#include "common/cli_docs/bash_completion.h"

#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace pyservice::cli_docs {
namespace {

// Values worth completing as file names; others (NAME, K=V, ...) get none.
bool IsPathValue(const std::string& value_name) {
  return value_name == "FILE" || value_name == "DIR" || value_name == "PATH";
}

struct Tables {
  std::string subcommands;  // case arms: "path") echo "a b" ;;
  std::string options;
  std::set<std::string> path_options;   // take a file name
  std::set<std::string> value_options;  // take another value
};

// Options accumulate down the tree: CLI11 hands an option a command does
// not know to the command above it (fallthrough), e.g. `pyctl get apps -o json`.
void Collect(const CommandDoc& command, std::vector<std::string> inherited, Tables& tables) {
  std::vector<std::string> subcommands;
  for (const CommandDoc& sub : command.subcommands) subcommands.push_back(sub.path.back());
  for (const OptionDoc& option : command.options) {
    for (const std::string& name : option.names) {
      inherited.push_back(name);
      if (option.value_name.empty()) continue;
      (IsPathValue(option.value_name) ? tables.path_options : tables.value_options).insert(name);
    }
  }
  inherited.push_back("--help");
  const std::string path = JoinPath(command.path);
  absl::StrAppend(&tables.subcommands, "    \"", path, "\") echo \"",
                  absl::StrJoin(subcommands, " "), "\" ;;\n");
  absl::StrAppend(&tables.options, "    \"", path, "\") echo \"",
                  absl::StrJoin(std::set<std::string>(inherited.begin(), inherited.end()), " "),
                  "\" ;;\n");
  inherited.pop_back();
  for (const CommandDoc& sub : command.subcommands) Collect(sub, inherited, tables);
}

std::string CaseList(const std::set<std::string>& names) {
  return names.empty() ? "--no-such-option" : absl::StrJoin(names, "|");
}

}  // namespace

std::string RenderBashCompletion(const CommandDoc& root) {
  const std::string& program = root.path.front();
  const std::string fn = absl::StrCat("_", absl::StrReplaceAll(program, {{"-", "_"}}));
  Tables tables;
  Collect(root, {}, tables);
  return absl::StrReplaceAll(
      R"bash(# bash completion for PROGRAM, made by `PROGRAM completion bash` from its own
# command tree (never edit by hand).
FN_subcommands() {
  case "$1" in
SUBCOMMANDS  esac
}
FN_options() {
  case "$1" in
OPTIONS  esac
}
FN() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local path=PROGRAM word i skip=0
  # The command path so far, skipping options and their values.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    if ((skip)); then skip=0; continue; fi
    case "$word" in
      PATH_OPTIONS|VALUE_OPTIONS) skip=1; continue ;;
      -*) continue ;;
    esac
    if [[ " $(FN_subcommands "$path") " == *" $word "* ]]; then path="$path $word"; fi
  done
  COMPREPLY=()
  if ((COMP_CWORD > 1)); then
    case "$prev" in
      PATH_OPTIONS) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
      VALUE_OPTIONS) return 0 ;;
    esac
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(FN_options "$path")" -- "$cur"))
    return 0
  fi
  local subcommands
  subcommands=$(FN_subcommands "$path")
  if [[ -n $subcommands ]]; then
    COMPREPLY=($(compgen -W "$subcommands" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F FN PROGRAM
)bash",
      {{"SUBCOMMANDS", tables.subcommands},
       {"OPTIONS", tables.options},
       {"PATH_OPTIONS", CaseList(tables.path_options)},
       {"VALUE_OPTIONS", CaseList(tables.value_options)},
       {"PROGRAM", program},
       {"FN", fn}});
}

}  // namespace pyservice::cli_docs
