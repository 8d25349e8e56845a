// pyctl delete app NAME: remove an app from the desired state. Its history
// stays, and a later apply of the same name continues the numbering.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/commands/commands.h"
#include "common/status/status_macros.h"

namespace pyservice::cli {
namespace {

absl::Status RunDeleteApp(const std::string& name,
                          const CommandContext& context) {
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client,
                   context.Connect());
  v1::DeleteAppRequest request;
  request.set_name(name);
  if (absl::StatusOr<v1::DeleteAppResponse> response =
          client->DeleteApp(request);
      !response.ok()) {
    return AppNotFoundOr(response.status(), name);
  }
  context.Print(Document::Map()
                    .Set("app", Document::String(name))
                    .Set("deleted", Document::Bool(true)),
                absl::StrCat(name, ": deleted (its history is kept)\n"));
  return absl::OkStatus();
}

}  // namespace

void AddDeleteCommand(CLI::App& app, Command& selected) {
  CLI::App* remove = app.add_subcommand("delete", "Remove an object");
  remove->require_subcommand(1);
  CLI::App* remove_app = remove->add_subcommand(
      "app", "Remove an app from the desired state (history is kept)");
  auto name = std::make_shared<std::string>();
  remove_app->add_option("name", *name, "app name")
      ->required()
      ->type_name("NAME");
  remove_app->callback([name, &selected] {
    selected = [name](const CommandContext& context) {
      return RunDeleteApp(*name, context);
    };
  });
}

}  // namespace pyservice::cli
