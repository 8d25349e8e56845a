#include "common/cli_docs/zsh_completion.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/cli_docs/completion_table.h"

namespace pyservice::cli_docs {
namespace {

// `text` as one single-quoted zsh word.
std::string Quote(const std::string& text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "'\\''"}}), "'");
}

// "WORD:DESCRIPTION" entries as _describe takes them (a colon in the word
// itself would need escaping; ours have none).
std::string DescribeEntries(const std::vector<CompletionWord>& words) {
  std::vector<std::string> entries;
  for (const CompletionWord& word : words) {
    entries.push_back(Quote(word.description.empty()
                                ? word.word
                                : absl::StrCat(word.word, ":", word.description)));
  }
  return absl::StrJoin(entries, " ");
}

// One case arm per level: ("PATH") reply=('WORD:DESCRIPTION' ...) ;;
std::string CaseArms(const CompletionTable& table,
                     std::vector<CompletionWord> CompletionLevel::*words) {
  std::string arms;
  for (const CompletionLevel& level : table.levels) {
    absl::StrAppend(&arms, "    (", Quote(level.path), ") reply=(",
                    DescribeEntries(level.*words), ") ;;\n");
  }
  return arms;
}

}  // namespace

std::string RenderZshCompletion(const CommandDoc& root) {
  // `path` is zsh's array tied to $PATH, hence `command_path`.
  return RenderCompletionScript(
      R"zsh(#compdef PROGRAM
# zsh completion for PROGRAM, made by `PROGRAM completion zsh` from its own
# command tree (never edit by hand).
FN_subcommands() {
  case "$1" in
SUBCOMMANDS    (*) reply=() ;;
  esac
}
FN_options() {
  case "$1" in
OPTIONS    (*) reply=() ;;
  esac
}
FN() {
  local command_path=PROGRAM word i skip=0
  local -a reply candidates
  # The command path so far, skipping options and their values.
  for ((i = 2; i < CURRENT; i++)); do
    word=${words[i]}
    if ((skip)); then skip=0; continue; fi
    case "$word" in
      (PATH_OPTIONS|VALUE_OPTIONS) skip=1; continue ;;
      (-*) continue ;;
    esac
    FN_subcommands "$command_path"
    if [[ -n ${reply[(r)${(b)word}(|:*)]} ]]; then command_path="$command_path $word"; fi
  done
  if ((CURRENT > 2)); then
    case "${words[CURRENT-1]}" in
      (PATH_OPTIONS) _files; return ;;
      (VALUE_OPTIONS) return 1 ;;
    esac
  fi
  if [[ ${words[CURRENT]} == -* ]]; then
    FN_options "$command_path"
    candidates=("${reply[@]}")
    _describe -t options 'option' candidates
    return
  fi
  FN_subcommands "$command_path"
  candidates=("${reply[@]}")
  if ((${#candidates})); then
    _describe -t commands 'command' candidates
  else
    _files
  fi
}
# Autoloaded from $fpath the file is FN's body; sourced, it registers FN.
if [[ ${funcstack[1]} == FN ]]; then
  FN "$@"
else
  compdef FN PROGRAM
fi
)zsh",
      root, CaseArms);
}

}  // namespace pyservice::cli_docs
