// pyctl get apps: one line per app that is not deleted.
// pyctl get hosts: one line per host that has ever connected.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

absl::Status RunGetHosts(const CommandContext& context) {
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client,
                   context.Connect());
  ASSIGN_OR_RETURN(const v1::ListHostsResponse response,
                   client->ListHosts(v1::ListHostsRequest()));
  // INTERFACES.md: [{"name", "connected", "labels", "last_seen",
  // "agent_version"}, ...], then extras.
  auto document = [&response] {
    Document hosts = Document::List();
    for (const v1::Host& host : response.hosts()) {
      // Protobuf maps have no order; labels are shown sorted.
      const std::map<std::string, std::string> labels(host.labels().begin(),
                                                      host.labels().end());
      Document label_map = Document::Map();
      for (const auto& [key, value] : labels) label_map.Set(key, Document::String(value));
      hosts.Append(Document::Map()
                       .Set("name", Document::String(host.name()))
                       .Set("connected", Document::Bool(host.connected()))
                       .Set("labels", std::move(label_map))
                       .Set("last_seen", Document::String(host.last_seen()))
                       .Set("agent_version", Document::String(host.agent_version()))
                       .Set("first_seen", Document::String(host.first_seen()))
                       .Set("lost", Document::Bool(host.lost()))
                       .Set("apps", Document::Int(host.apps())));
    }
    return hosts;
  };
  auto table = [&response]() -> std::string {
    if (response.hosts().empty()) return "No hosts.\n";
    std::vector<std::vector<std::string>> rows;
    rows.reserve(static_cast<size_t>(response.hosts_size()));
    for (const v1::Host& host : response.hosts()) {
      const std::map<std::string, std::string> labels(host.labels().begin(),
                                                      host.labels().end());
      std::vector<std::string> label_text;
      for (const auto& [key, value] : labels) label_text.push_back(absl::StrCat(key, "=", value));
      rows.push_back({host.name(), host.connected() ? "yes" : (host.lost() ? "lost" : "no"),
                      label_text.empty() ? "-" : absl::StrJoin(label_text, ","),
                      absl::StrCat(host.apps()), host.last_seen(), host.agent_version()});
    }
    return RenderTable({"NAME", "CONNECTED", "LABELS", "APPS", "LAST SEEN", "AGENT"}, rows);
  };
  context.Print(document, table);
  return absl::OkStatus();
}

}  // namespace

void AddGetCommand(CLI::App& app, Command& selected) {
  CLI::App* get = app.add_subcommand("get", "List objects");
  get->require_subcommand(1);
  CLI::App* apps = get->add_subcommand("apps", "Every app, latest revision");
  apps->alias("app");
  apps->callback([&selected] { selected = RunGetApps; });
  CLI::App* hosts =
      get->add_subcommand("hosts", "Every host that has connected");
  hosts->alias("host");
  hosts->callback([&selected] { selected = RunGetHosts; });
}

}  // namespace pyservice::cli
