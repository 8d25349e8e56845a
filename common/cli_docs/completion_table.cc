#include "common/cli_docs/completion_table.h"

#include <map>

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

}  // namespace

CompletionTable ReadCompletionTable(const CommandDoc& root) {
  CompletionTable table;
  Collect(root, {}, table);
  return table;
}

}  // namespace pyservice::cli_docs
