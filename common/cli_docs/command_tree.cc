#include "common/cli_docs/command_tree.h"

#include "absl/strings/str_join.h"

namespace pyservice::cli_docs {
namespace {

bool IsHelp(const CLI::App& app, const CLI::Option* option) {
  return option == app.get_help_ptr() || option == app.get_help_all_ptr();
}

OptionDoc ReadOption(const CLI::Option& option) {
  OptionDoc doc;
  for (const std::string& name : option.get_snames()) doc.names.push_back("-" + name);
  for (const std::string& name : option.get_lnames()) doc.names.push_back("--" + name);
  // A flag expects no value; CLI11 gives it an empty type name or none.
  if (option.get_expected_max() > 0) {
    // CLI11 appends its checks' own descriptions (":{table,json,yaml}").
    const std::string type_name = option.get_type_name();
    doc.value_name = type_name.substr(0, type_name.find(":{"));
  }
  doc.description = option.get_description();
  doc.env = option.get_envname();
  return doc;
}

CommandDoc ReadCommand(const CLI::App& app, std::vector<std::string> path) {
  CommandDoc doc;
  doc.path = std::move(path);
  doc.description = app.get_description();
  for (const CLI::Option* option : app.get_options()) {
    if (IsHelp(app, option) || option->get_group().empty()) continue;
    if (option->nonpositional()) {
      doc.options.push_back(ReadOption(*option));
    } else {
      doc.positionals.push_back({.name = option->get_name(/*positional=*/true),
                                 .description = option->get_description(),
                                 .required = option->get_required(),
                                 .repeatable = option->get_items_expected_max() > 1});
    }
  }
  for (const CLI::App* sub :
       app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); })) {
    std::vector<std::string> sub_path = doc.path;
    sub_path.push_back(sub->get_name());
    doc.subcommands.push_back(ReadCommand(*sub, std::move(sub_path)));
  }
  return doc;
}

}  // namespace

CommandDoc ReadCommandTree(const CLI::App& app) { return ReadCommand(app, {app.get_name()}); }

void Hide(CLI::App* subcommand) { subcommand->group(""); }

std::string JoinPath(const std::vector<std::string>& path) { return absl::StrJoin(path, " "); }

}  // namespace pyservice::cli_docs
