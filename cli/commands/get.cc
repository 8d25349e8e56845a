// pyctl get apps: one line per app that is not deleted.
// pyctl get hosts: one line per host that has ever connected.
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <utility>
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

// Labels sorted by key (protobuf maps have no order), as key=value,...;
// "-" for none.
std::string LabelsText(const google::protobuf::Map<std::string, std::string>& labels) {
  if (labels.empty()) return "-";
  std::vector<std::pair<absl::string_view, absl::string_view>> sorted;
  sorted.reserve(labels.size());
  for (const auto& [key, value] : labels) sorted.emplace_back(key, value);
  std::sort(sorted.begin(), sorted.end());
  std::string text;
  for (const auto& [key, value] : sorted) {
    absl::StrAppend(&text, text.empty() ? "" : ",", key, "=", value);
  }
  return text;
}

std::string HostsTable(const v1::ListHostsResponse& response) {
  if (response.hosts().empty()) return "No hosts.\n";
  const std::vector<std::string> header = {"NAME",      "CONNECTED", "LABELS",
                                           "APPS",      "LAST SEEN", "AGENT"};
  // Views into the response, and into `made` for the two cells built here:
  // its size is fixed up front, so the strings never move.
  std::vector<std::string> made;
  made.reserve(2 * static_cast<size_t>(response.hosts_size()));
  std::vector<absl::string_view> cells;
  cells.reserve(header.size() * static_cast<size_t>(response.hosts_size()));
  for (const v1::Host& host : response.hosts()) {
    cells.push_back(host.name());
    cells.push_back(host.connected() ? "yes" : (host.lost() ? "lost" : "no"));
    cells.push_back(made.emplace_back(LabelsText(host.labels())));
    cells.push_back(made.emplace_back(absl::StrCat(host.apps())));
    cells.push_back(host.last_seen());
    cells.push_back(host.agent_version());
  }
  return RenderTableFromCells(header, cells);
}

absl::Status RunGetHosts(const CommandContext& context) {
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client,
                   context.Connect());
  google::protobuf::Arena arena;
  ASSIGN_OR_RETURN(const v1::ListHostsResponse* response, client->ListHosts(arena));
  // INTERFACES.md: [{"name", "connected", "labels", "last_seen",
  // "agent_version"}, ...], then extras.
  auto document = [response] {
    Document hosts = Document::List();
    for (const v1::Host& host : response->hosts()) {
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
  context.Print(document, [response] { return HostsTable(*response); });
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
