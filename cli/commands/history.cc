// pyctl history NAME: an app's revisions, oldest first. Table output adds
// the app's rollouts with their outcome; JSON/YAML keep INTERFACES.md's
// list of revisions. `--revision N` shows that one revision: its tag,
// digest, creation, the rollout that brought it and its spec (secrets
// redacted by the controller).
#include <memory>
#include <optional>
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

// The rollout that stored `revision` (its to_revision), if any: a revision
// stored by the first apply of an app has none.
std::optional<v1::Rollout> IntroducedBy(ControllerClient& client, const std::string& name,
                                        uint32_t revision) {
  v1::ListRolloutsRequest request;
  request.set_app(name);
  absl::StatusOr<v1::ListRolloutsResponse> response = client.ListRollouts(request);
  if (!response.ok()) return std::nullopt;
  for (const v1::Rollout& rollout : response->rollouts()) {
    if (rollout.to_revision() == revision) return rollout;
  }
  return std::nullopt;
}

absl::Status RunRevision(const std::string& name, uint32_t number,
                         const CommandContext& context) {
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client, context.Connect());
  v1::GetAppRequest request;
  request.set_name(name);
  request.set_revision(number);
  // The controller's NOT_FOUND names the app or the revision.
  ASSIGN_OR_RETURN(const v1::GetAppResponse response, client->GetApp(request));
  const v1::Revision& revision = response.revision();
  const std::optional<v1::Rollout> rollout = IntroducedBy(*client, name, number);
  Document document = Document::Map()
                          .Set("app", Document::String(revision.app()))
                          .Set("revision", Document::Int(revision.number()))
                          .Set("tag", Document::String(revision.tag()))
                          .Set("digest", Document::String(revision.digest()))
                          .Set("created_at", Document::String(revision.created_at()));
  std::string introduced_text = "none (stored by the app's first apply)";
  if (rollout.has_value()) {
    document.Set("rollout", Document::Map()
                                .Set("id", Document::Int(rollout->id()))
                                .Set("cause", Document::String(rollout->cause()))
                                .Set("from_revision", Document::Int(rollout->from_revision()))
                                .Set("state", Document::String(RolloutStateName(rollout->state()))));
    introduced_text = absl::StrCat(rollout->id(), " (", rollout->cause(), " from revision ",
                                   rollout->from_revision(), ", ",
                                   RolloutStateName(rollout->state()), ")");
  }
  document.Set("canonical_yaml", Document::String(response.canonical_yaml()));
  const std::string text = RenderFields({{"App", revision.app()},
                                         {"Revision", absl::StrCat(revision.number())},
                                         {"Tag", revision.tag()},
                                         {"Digest", revision.digest()},
                                         {"Created", revision.created_at()},
                                         {"Rollout", introduced_text}}) +
                           "Spec:\n" + IndentLines(response.canonical_yaml(), 2);
  context.Print(document, text);
  return absl::OkStatus();
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
  auto revision = std::make_shared<uint32_t>(0);
  history->add_option("name", *name, "app name")
      ->required()
      ->type_name("NAME");
  history->add_option("--revision", *revision,
                      "show this revision: its rollout and spec (secrets redacted)")
      ->type_name("N")
      ->check(CLI::PositiveNumber);
  history->callback([name, revision, &selected] {
    selected = [name, revision](const CommandContext& context) {
      if (*revision != 0) return RunRevision(*name, *revision, context);
      return RunHistory(*name, context);
    };
  });
}

}  // namespace pyservice::cli
