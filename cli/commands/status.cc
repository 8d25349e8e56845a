// pyctl status [NAME]: fleet health, app x host, with unit states.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/commands/commands.h"
#include "cli/commands/fleet_format.h"
#include "cli/output/table.h"
#include "common/status/status_macros.h"

namespace pyservice::cli {
namespace {

std::string StatusText(const google::protobuf::RepeatedPtrField<v1::AppStatus>& apps) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::AppStatus& app : apps) {
    if (app.hosts().empty()) {
      rows.push_back({app.app(), "-"});
      continue;
    }
    for (const v1::HostAppStatus& host : app.hosts()) {
      std::vector<std::string> row = {app.app()};
      for (std::string& cell : HostStatusRow(host)) row.push_back(std::move(cell));
      rows.push_back(std::move(row));
    }
  }
  if (rows.empty()) return "No apps.\n";
  std::vector<std::string> header = {"APP"};
  for (std::string& cell : HostStatusHeader()) header.push_back(std::move(cell));
  return RenderTable(header, rows);
}

absl::Status RunStatus(const std::string& name, const CommandContext& context) {
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client, context.Connect());
  v1::GetStatusRequest request;
  request.set_app(name);
  google::protobuf::Arena arena;
  absl::StatusOr<const v1::GetStatusResponse*> response = client->GetStatus(request, arena);
  if (!response.ok()) return AppNotFoundOr(response.status(), name);
  const google::protobuf::RepeatedPtrField<v1::AppStatus>& apps = (*response)->apps();
  // INTERFACES.md: one {"app", "hosts"} object for a named app; a list of
  // them otherwise.
  auto document = [&apps, &name] {
    if (!name.empty()) return apps.empty() ? Document::Map() : AppStatusDocument(apps[0]);
    Document list = Document::List();
    for (const v1::AppStatus& app : apps) list.Append(AppStatusDocument(app));
    return list;
  };
  context.Print(document, [&apps] { return StatusText(apps); });
  return absl::OkStatus();
}

}  // namespace

void AddStatusCommand(CLI::App& app, Command& selected) {
  CLI::App* status = app.add_subcommand(
      "status", "Fleet health: every app on every host, with unit states");
  auto name = std::make_shared<std::string>();
  status->add_option("name", *name, "only this app")->type_name("NAME");
  status->callback([name, &selected] {
    selected = [name](const CommandContext& context) {
      return RunStatus(*name, context);
    };
  });
}

}  // namespace pyservice::cli
