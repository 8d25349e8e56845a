// pyctl diff NAME [--revision A] [--to B] | pyctl diff FILE: a unified diff
// of canonical specs, secrets redacted by the controller (which alone holds
// them). Between two stored revisions of NAME (A defaults to the revision
// before B, B to the current one), or between NAME's current revision and
// FILE (what `pyctl apply FILE` would change: the apply's dry run).
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/commands/commands.h"
#include "cli/output/table.h"
#include "common/file/read_file.h"
#include "common/spec/app_spec_parser.h"
#include "common/status/status_macros.h"
#include "common/text/diff.h"

namespace pyservice::cli {
namespace {

struct DiffArgs {
  // An app name, or a file (app names have no '.' or '/').
  std::string target;
  uint32_t revision = 0;  // A; 0: the one before B
  uint32_t to = 0;        // B; 0: the current one
};

bool IsFile(const std::string& target) {
  return absl::StrContains(target, '.') || absl::StrContains(target, '/');
}

void Print(const CommandContext& context, Document document, const std::string& diff) {
  const std::string text = diff.empty() ? "no differences\n" : diff;
  document.Set("diff", Document::String(diff));
  context.Print(document, context.color ? ColorizeDiff(text) : text);
}

absl::Status DiffFile(const DiffArgs& args, const CommandContext& context) {
  if (args.revision != 0 || args.to != 0) {
    return absl::InvalidArgumentError(
        "--revision and --to compare stored revisions: give an app NAME, not a file");
  }
  ASSIGN_OR_RETURN(std::string yaml, ReadFileToString(args.target, spec::kMaxDocumentBytes));
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client, context.Connect());
  v1::ApplyAppRequest request;
  request.set_yaml(std::move(yaml));
  request.set_source_name(args.target);
  request.set_dry_run(true);
  ASSIGN_OR_RETURN(const v1::ApplyAppResponse response, client->ApplyApp(request));
  Document document = Document::Map()
                          .Set("app", Document::String(response.app()))
                          .Set("from_revision", Document::Int(response.previous_revision()))
                          .Set("file", Document::String(args.target));
  Print(context, std::move(document), response.changed() ? response.diff() : "");
  return absl::OkStatus();
}

absl::StatusOr<v1::GetAppResponse> Revision(ControllerClient& client, const std::string& name,
                                            uint32_t number) {
  v1::GetAppRequest request;
  request.set_name(name);
  request.set_revision(number);
  // The controller's NOT_FOUND names the app or the revision.
  return client.GetApp(request);
}

absl::Status DiffRevisions(const DiffArgs& args, const CommandContext& context) {
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client, context.Connect());
  const std::string& name = args.target;
  ASSIGN_OR_RETURN(const v1::GetAppResponse to, Revision(*client, name, args.to));
  const uint32_t to_number = to.revision().number();
  uint32_t from_number = args.revision;
  if (from_number == 0) {
    if (to_number <= 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          name, " revision ", to_number, " is its first: nothing before it to compare with"));
    }
    from_number = to_number - 1;
  }
  ASSIGN_OR_RETURN(const v1::GetAppResponse from, Revision(*client, name, from_number));
  const std::string diff = text::UnifiedDiff(
      from.canonical_yaml(), to.canonical_yaml(),
      absl::StrCat(name, " revision ", from_number, " (", from.revision().tag(), ")"),
      absl::StrCat(name, " revision ", to_number, " (", to.revision().tag(), ")"));
  Document document = Document::Map()
                          .Set("app", Document::String(name))
                          .Set("from_revision", Document::Int(from_number))
                          .Set("to_revision", Document::Int(to_number));
  Print(context, std::move(document), diff);
  return absl::OkStatus();
}

}  // namespace

void AddDiffCommand(CLI::App& app, Command& selected) {
  CLI::App* diff = app.add_subcommand(
      "diff", "Unified diff of specs: two revisions of an app, or its current one and a file");
  auto args = std::make_shared<DiffArgs>();
  diff->add_option("target", args->target, "app name, or an app.yaml file")
      ->required()
      ->type_name("NAME|FILE");
  diff->add_option("--revision", args->revision, "the older revision (default: the one before --to)")
      ->type_name("A")
      ->check(CLI::PositiveNumber);
  diff->add_option("--to", args->to, "the newer revision (default: the current one)")
      ->type_name("B")
      ->check(CLI::PositiveNumber);
  diff->callback([args, &selected] {
    selected = [args](const CommandContext& context) {
      return IsFile(args->target) ? DiffFile(*args, context) : DiffRevisions(*args, context);
    };
  });
}

}  // namespace pyservice::cli
