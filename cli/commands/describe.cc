// pyctl describe app NAME: the latest revision, where each host stands with
// it, and its canonical spec (secrets redacted by the controller).
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

absl::Status RunDescribeApp(const std::string& name,
                            const CommandContext& context) {
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client,
                   context.Connect());
  v1::GetAppRequest request;
  request.set_name(name);
  absl::StatusOr<v1::GetAppResponse> response = client->GetApp(request);
  if (!response.ok()) return AppNotFoundOr(response.status(), name);
  const v1::Revision& revision = response->revision();

  Document hosts = Document::List();
  std::vector<std::vector<std::string>> rows;
  for (const v1::HostAppStatus& host : response->hosts()) {
    hosts.Append(HostAppStatusDocument(host));
    rows.push_back(HostStatusRow(host));
  }
  const Document document =
      Document::Map()
          .Set("name", Document::String(revision.app()))
          .Set("revision", Document::Int(revision.number()))
          .Set("tag", Document::String(revision.tag()))
          .Set("digest", Document::String(revision.digest()))
          .Set("created_at", Document::String(revision.created_at()))
          .Set("canonical_yaml", Document::String(response->canonical_yaml()))
          .Set("hosts", std::move(hosts));
  const std::string text =
      RenderFields({{"Name", revision.app()},
                    {"Revision", absl::StrCat(revision.number())},
                    {"Tag", revision.tag()},
                    {"Digest", revision.digest()},
                    {"Created", revision.created_at()},
                    {"Hosts", rows.empty() ? "none targeted" : ""}}) +
      (rows.empty() ? "" : IndentLines(RenderTable(HostStatusHeader(), rows), 2)) +
      "Spec:\n" + IndentLines(response->canonical_yaml(), 2);
  context.Print(document, text);
  return absl::OkStatus();
}

}  // namespace

void AddDescribeCommand(CLI::App& app, Command& selected) {
  CLI::App* describe = app.add_subcommand("describe", "Show one object");
  describe->require_subcommand(1);
  CLI::App* describe_app =
      describe->add_subcommand("app", "An app's latest revision and spec");
  auto name = std::make_shared<std::string>();
  describe_app->add_option("name", *name, "app name")
      ->required()
      ->type_name("NAME");
  describe_app->callback([name, &selected] {
    selected = [name](const CommandContext& context) {
      return RunDescribeApp(*name, context);
    };
  });
}

}  // namespace pyservice::cli
