// pyctl apply APP.yaml [--dry-run]: send the file to the controller, which
// parses, validates and stores it as the app's next revision.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/commands/commands.h"
#include "cli/output/table.h"
#include "common/file/read_file.h"
#include "common/spec/app_spec_parser.h"
#include "common/status/status_macros.h"

namespace pyservice::cli {
namespace {

struct ApplyArgs {
  std::string file;
  bool dry_run = false;
};

// INTERFACES.md: {"app", "revision", "changed", "rollout"}, then extras.
Document ApplyDocument(const v1::ApplyAppResponse& response, bool dry_run) {
  return Document::Map()
      .Set("app", Document::String(response.app()))
      .Set("revision", Document::Int(response.revision()))
      .Set("changed", Document::Bool(response.changed()))
      .Set("rollout", Document::Int(response.rollout()))
      .Set("previous_revision", Document::Int(response.previous_revision()))
      .Set("dry_run", Document::Bool(dry_run))
      .Set("diff", Document::String(response.diff()));
}

std::string ApplyText(const v1::ApplyAppResponse& response, bool dry_run,
                      bool color) {
  const std::string& app = response.app();
  std::string text;
  if (dry_run) {
    text = response.changed()
               ? absl::StrCat(app, ": dry run: would create revision ",
                              response.revision())
               : absl::StrCat(app, ": dry run: unchanged (revision ",
                              response.revision(), ")");
  } else {
    text = response.changed()
               ? absl::StrCat(app, ": revision ", response.revision(),
                              " created")
               : absl::StrCat(app, ": unchanged (revision ",
                              response.revision(), ")");
  }
  text.push_back('\n');
  if (response.rollout() != 0) {
    absl::StrAppend(&text, app, ": rollout ", response.rollout(),
                    " started; follow it with `pyctl rollout status ", app,
                    "`\n");
  }
  if (response.changed() && !response.diff().empty()) {
    text += color ? ColorizeDiff(response.diff()) : response.diff();
  }
  return text;
}

absl::Status RunApply(const ApplyArgs& args, const CommandContext& context) {
  // The file first: a typo in its name should not need a controller.
  ASSIGN_OR_RETURN(std::string yaml,
                   ReadFileToString(args.file, spec::kMaxDocumentBytes));
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client,
                   context.Connect());
  v1::ApplyAppRequest request;
  request.set_yaml(std::move(yaml));
  // As given, so problems read "app.yaml:3:1: ..." like the operator typed.
  request.set_source_name(args.file);
  request.set_dry_run(args.dry_run);
  ASSIGN_OR_RETURN(const v1::ApplyAppResponse response,
                   client->ApplyApp(request));
  context.Print(ApplyDocument(response, args.dry_run),
                ApplyText(response, args.dry_run, context.color));
  return absl::OkStatus();
}

}  // namespace

void AddApplyCommand(CLI::App& app, Command& selected) {
  auto args = std::make_shared<ApplyArgs>();
  CLI::App* command = app.add_subcommand(
      "apply", "Store an app.yaml as the app's next revision and show the diff");
  command->add_option("file", args->file, "the app definition")
      ->required()
      ->type_name("APP.yaml");
  command->add_flag("--dry-run", args->dry_run,
                    "validate and diff only; store nothing");
  command->callback([args, &selected] {
    selected = [args](const CommandContext& context) {
      return RunApply(*args, context);
    };
  });
}

}  // namespace pyservice::cli
