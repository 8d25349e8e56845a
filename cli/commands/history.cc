// pyctl history NAME: an app's revisions, oldest first.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/commands/commands.h"
#include "cli/output/table.h"
#include "common/status/status_macros.h"

namespace pyservice::cli {
namespace {

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
  context.Print(revisions, RenderTable({"REVISION", "TAG", "CREATED", "DIGEST"},
                                       rows));
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
