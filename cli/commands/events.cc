// pyctl events [--app PATTERN]... [-f]: what happened in the fleet lately
// (hosts, deploys, rollouts, applies), oldest first, one line each; with
// -f, new events as they happen until interrupted.
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/commands/commands.h"
#include "cli/commands/logs_format.h"
#include "common/status/status_macros.h"

namespace pyservice::cli {
namespace {

struct EventsOptions {
  std::vector<std::string> apps;
  bool follow = false;
};

absl::Status RunEvents(const EventsOptions& options, const CommandContext& context) {
  v1::WatchEventsRequest request;
  for (const std::string& app : options.apps) request.add_apps(app);
  request.set_follow(options.follow);
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client, context.Connect());
  std::ostream& out = *context.out;
  Document document = Document::List();
  std::string text;
  RETURN_IF_ERROR(client->WatchEvents(request, [&](const v1::FleetEvent& event) {
    if (options.follow) {
      // JSON lines while following: one document per event, as it comes.
      out << (context.format == OutputFormat::kTable
                  ? EventLine(event)
                  : ToCompactJson(EventDocument(event)) + "\n");
      out.flush();
    } else {
      document.Append(EventDocument(event));
      absl::StrAppend(&text, EventLine(event));
    }
    return true;
  }));
  if (!options.follow) context.Print(document, text.empty() ? "No events.\n" : text);
  return absl::OkStatus();
}

}  // namespace

void AddEventsCommand(CLI::App& app, Command& selected) {
  CLI::App* events = app.add_subcommand(
      "events", "Fleet events: hosts, deploys, rollouts and applies, oldest first");
  auto options = std::make_shared<EventsOptions>();
  events->add_option("--app", options->apps, "only events of this app or pattern (and hosts)")
      ->type_name("PATTERN");
  events->add_flag("-f,--follow", options->follow, "keep printing new events until interrupted");
  events->callback([options, &selected] {
    selected = [options](const CommandContext& context) { return RunEvents(*options, context); };
  });
}

}  // namespace pyservice::cli
