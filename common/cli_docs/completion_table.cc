#include "common/cli_docs/completion_table.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace pyservice::cli_docs {
namespace {

// Values worth completing as file names; others (NAME, K=V, ...) get none.
bool IsPathValue(const std::string& value_name) {
  return value_name == "FILE" || value_name == "DIR" || value_name == "PATH";
}

void Collect(const CommandDoc& command, std::map<std::string, std::string> inherited,
             CompletionTable& table) {
  for (const OptionDoc& option : command.options) {
    for (const std::string& name : option.names) {
      inherited[name] = option.description;
      if (option.value_name.empty()) continue;
      (IsPathValue(option.value_name) ? table.path_options : table.value_options).insert(name);
    }
  }
  CompletionLevel level{.path = JoinPath(command.path)};
  for (const CommandDoc& sub : command.subcommands) {
    level.subcommands.push_back({sub.path.back(), sub.description});
  }
  std::map<std::string, std::string> options = inherited;
  options["--help"] = "print help and exit";
  for (const auto& [word, description] : options) level.options.push_back({word, description});
  table.levels.push_back(std::move(level));
  for (const CommandDoc& sub : command.subcommands) Collect(sub, inherited, table);
}

std::string CasePattern(const std::set<std::string>& words) {
  return words.empty() ? "--no-such-option" : absl::StrJoin(words, "|");
}

}  // namespace

CompletionTable ReadCompletionTable(const CommandDoc& root) {
  CompletionTable table;
  Collect(root, {}, table);
  return table;
}

std::string RenderCompletionScript(absl::string_view script_template, const CommandDoc& root,
                                   const CaseArmsRenderer& arms) {
  const std::string& program = root.path.front();
  const CompletionTable table = ReadCompletionTable(root);
  const std::vector<std::pair<std::string, std::string>> placeholders = {
      {"SUBCOMMANDS", arms(table, &CompletionLevel::subcommands)},
      {"OPTIONS", arms(table, &CompletionLevel::options)},
      {"PATH_OPTIONS", CasePattern(table.path_options)},
      {"VALUE_OPTIONS", CasePattern(table.value_options)},
      {"PROGRAM", program},
      {"FN", absl::StrCat("_", absl::StrReplaceAll(program, {{"-", "_"}}))}};
  return absl::StrReplaceAll(script_template, placeholders);
}

}  // namespace pyservice::cli_docs
