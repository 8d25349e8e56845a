#include "common/cli_docs/bash_completion.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/cli_docs/completion_table.h"

namespace pyservice::cli_docs {
namespace {

// One case arm per level: "PATH") echo "WORD WORD" ;;
std::string CaseArms(const CompletionTable& table,
                     std::vector<CompletionWord> CompletionLevel::*words) {
  std::string arms;
  for (const CompletionLevel& level : table.levels) {
    std::vector<std::string> names;
    for (const CompletionWord& word : level.*words) names.push_back(word.word);
    absl::StrAppend(&arms, "    \"", level.path, "\") echo \"", absl::StrJoin(names, " "),
                    "\" ;;\n");
  }
  return arms;
}

}  // namespace

std::string RenderBashCompletion(const CommandDoc& root) {
  return RenderCompletionScript(
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
      root, CaseArms);
}

}  // namespace pyservice::cli_docs
