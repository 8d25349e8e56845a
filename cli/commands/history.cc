// pyctl history NAME: an app's revisions, oldest first. Table output adds
// the app's rollouts with their outcome; JSON/YAML keep INTERFACES.md's
// list of revisions.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/commands/commands.h"
#include "cli/commands/rollout_format.h"
#include "cli/output/table.h"
#include "common/status/status_macros.h"

namespace pyservice::cli {
namespace {

// "\nROLLOUT FROM TO TAG CAUSE STATE STARTED FINISHED" rows, or "" when the
// app has none (or the controller predates rollouts).
std::string RolloutsText(ControllerClient& client, const std::string& name) {
  v1::ListRolloutsRequest request;
  request.set_app(name);
  absl::StatusOr<v1::ListRolloutsResponse> response = client.ListRollouts(request);
  if (!response.ok() || response->rollouts().empty()) return "";
  std::vector<std::vector<std::string>> rows;
  for (const v1::Rollout& rollout : response->rollouts()) {
    std::string state = RolloutStateName(rollout.state());
    if (!rollout.message().empty()) {
      std::string message = rollout.message();
      for (char& c : message) {
        if (c == '\n') c = ' ';
      }
      absl::StrAppend(&state, ": ", message);
    }
    rows.push_back({absl::StrCat(rollout.id()),
                    absl::StrCat(rollout.from_revision()), absl::StrCat(rollout.to_revision()),
                    rollout.tag(), rollout.cause(), rollout.created_at(),
                    rollout.finished_at().empty() ? "-" : rollout.finished_at(),
                    std::move(state)});
  }
  return absl::StrCat("\n", RenderTable({"ROLLOUT", "FROM", "TO", "TAG", "CAUSE", "STARTED",
                                         "FINISHED", "STATE"},
                                        rows));
}

absl::Status RunHistory(const std::string& name,
                        const CommandContext& context) {
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client,
                   context.Connect());
  v1::ListRevisionsRequest request;
  request.set_name(name);
  absl::StatusOr<v1::ListRevisionsResponse> response =
      client->ListRevisions(request);
  if (!response.ok()) return AppNotFoundOr(response.status(), name);
  // An app that ever existed has at least one revision, deleted or not, so
  // an empty history means a wrong name: say so rather than print nothing.
  if (response->revisions().empty()) {
    return AppNotFoundOr(absl::NotFoundError(""), name);
  }
  // INTERFACES.md: [{"revision", "tag", "digest", "created_at"}, ...].
  Document revisions = Document::List();
  std::vector<std::vector<std::string>> rows;
  for (const v1::Revision& revision : response->revisions()) {
    revisions.Append(
        Document::Map()
            .Set("revision", Document::Int(revision.number()))
            .Set("tag", Document::String(revision.tag()))
            .Set("digest", Document::String(revision.digest()))
            .Set("created_at", Document::String(revision.created_at())));
    rows.push_back({absl::StrCat(revision.number()), revision.tag(),
                    revision.created_at(), revision.digest()});
  }
  std::string text = RenderTable({"REVISION", "TAG", "CREATED", "DIGEST"}, rows);
  if (context.format == OutputFormat::kTable) text += RolloutsText(*client, name);
  context.Print(revisions, text);
  return absl::OkStatus();
}

}  // namespace

void AddHistoryCommand(CLI::App& app, Command& selected) {
  CLI::App* history =
      app.add_subcommand("history", "An app's revisions, oldest first");
  auto name = std::make_shared<std::string>();
  history->add_option("name", *name, "app name")
      ->required()
      ->type_name("NAME");
  history->callback([name, &selected] {
    selected = [name](const CommandContext& context) {
      return RunHistory(*name, context);
    };
  });
}

}  // namespace pyservice::cli
