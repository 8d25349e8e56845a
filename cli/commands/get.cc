// pyctl get apps: one line per app that is not deleted.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/commands/commands.h"
#include "cli/output/table.h"
#include "common/status/status_macros.h"

namespace pyservice::cli {
namespace {

absl::Status RunGetApps(const CommandContext& context) {
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client,
                   context.Connect());
  ASSIGN_OR_RETURN(const v1::ListAppsResponse response,
                   client->ListApps(v1::ListAppsRequest()));
  // INTERFACES.md: [{"name", "revision", "tag", "hosts"}, ...], then extras.
  Document apps = Document::List();
  std::vector<std::vector<std::string>> rows;
  for (const v1::AppSummary& app : response.apps()) {
    apps.Append(Document::Map()
                    .Set("name", Document::String(app.name()))
                    .Set("revision", Document::Int(app.revision()))
                    .Set("tag", Document::String(app.tag()))
                    .Set("hosts", Document::Int(app.hosts()))
                    .Set("updated_at", Document::String(app.updated_at())));
    rows.push_back({app.name(), absl::StrCat(app.revision()), app.tag(),
                    absl::StrCat(app.hosts()), app.updated_at()});
  }
  context.Print(apps,
                rows.empty() ? "No apps.\n"
                             : RenderTable({"NAME", "REVISION", "TAG",
                                            "HOSTS", "UPDATED"},
                                           rows));
  return absl::OkStatus();
}

}  // namespace

void AddGetCommand(CLI::App& app, Command& selected) {
  CLI::App* get = app.add_subcommand("get", "List objects");
  get->require_subcommand(1);
  CLI::App* apps = get->add_subcommand("apps", "Every app, latest revision");
  apps->alias("app");
  apps->callback([&selected] { selected = RunGetApps; });
}

}  // namespace pyservice::cli
