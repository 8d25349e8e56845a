// pyctl apply APP.yaml [--dry-run] [--no-wait]: send the file to the
// controller, which parses, validates and stores it as the app's next
// revision; then, for a new or changed app, follow its deploy (WatchApp)
// until every targeted host is healthy or failed.
//
// Table output prints one line per host progress change as it happens
// ("h1: checkout running") and a summary; JSON/YAML print one document at
// the end with the per-host outcome under "hosts". Either way the exit
// status is 1 when a host failed, the reason naming host and step.
//
// A changed spec of a deployed app starts a rollout (response.rollout != 0):
// then apply follows that rollout instead (rollout_follow.h), with the same
// progress and exit rules as `pyctl rollout`.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/commands/commands.h"
#include "cli/commands/fleet_format.h"
#include "cli/commands/rollout_follow.h"
#include "cli/commands/rollout_format.h"
#include "cli/output/table.h"
#include "common/file/read_file.h"
#include "common/spec/app_spec_parser.h"
#include "common/status/status_macros.h"

namespace pyservice::cli {
namespace {

struct ApplyArgs {
  std::string file;
  bool dry_run = false;
  bool no_wait = false;
};

// What the watch of one deploy saw: the last progress of every host.
struct DeployOutcome {
  std::map<std::string, v1::HostDeployProgress> hosts;
  v1::WatchAppEvent last;
};

// Follows the deploy of `response`'s revision, printing progress lines
// when `live` is set.
absl::StatusOr<DeployOutcome> WaitForDeploy(ControllerClient& client,
                                            const v1::ApplyAppResponse& response,
                                            const CommandContext& context,
                                            bool live) {
  v1::WatchAppRequest request;
  request.set_app(response.app());
  request.set_revision(response.revision());
  DeployOutcome outcome;
  std::map<std::string, std::string> last_line;
  RETURN_IF_ERROR(client.WatchApp(request, [&](const v1::WatchAppEvent& event) {
    outcome.last = event;
    for (const v1::HostDeployProgress& progress : event.hosts()) {
      if (progress.left()) {
        outcome.hosts.erase(progress.host());
      } else {
        outcome.hosts[progress.host()] = progress;
      }
      if (!live) continue;
      std::string line = ProgressLine(progress);
      if (last_line[progress.host()] == line) continue;  // e.g. "pending" twice
      *context.out << line << "\n" << std::flush;
      last_line[progress.host()] = std::move(line);
    }
  }));
  return outcome;
}

// "hello revision 2 failed on h2 (step verify: unit failed), h3 (...)",
// or OK when no host failed.
absl::Status FailedHosts(const v1::ApplyAppResponse& response,
                         const DeployOutcome& outcome) {
  std::vector<std::string> failed;
  for (const auto& [host, progress] : outcome.hosts) {
    if (progress.state() != v1::HOST_DEPLOY_STATE_FAILED) continue;
    std::string reason = progress.failed_step().empty()
                             ? progress.error()
                             : absl::StrCat("step ", progress.failed_step(), ": ",
                                            progress.error());
    failed.push_back(absl::StrCat(host, " (", reason, ")"));
  }
  if (failed.empty()) return absl::OkStatus();
  // One line: a reason on stderr is one line (INTERFACES.md).
  std::string text = absl::StrJoin(failed, ", ");
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  return absl::AbortedError(absl::StrCat(response.app(), " revision ", response.revision(),
                                         " failed on ", text));
}

Document OutcomeHosts(const DeployOutcome& outcome) {
  Document hosts = Document::List();
  for (const auto& [host, progress] : outcome.hosts) {
    hosts.Append(Document::Map()
                     .Set("host", Document::String(host))
                     .Set("state", Document::String(DeployStateName(progress.state())))
                     .Set("failed_step", Document::String(progress.failed_step()))
                     .Set("error", Document::String(progress.error())));
  }
  return hosts;
}

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

// The rollout's hosts in the shape of OutcomeHosts, with rollout states.
Document RolloutHosts(const v1::Rollout& rollout) {
  Document hosts = Document::List();
  for (const v1::RolloutWave& wave : rollout.waves()) {
    for (const v1::RolloutHost& host : wave.hosts()) {
      hosts.Append(Document::Map()
                       .Set("host", Document::String(host.host()))
                       .Set("state", Document::String(RolloutHostStateName(host.state())))
                       .Set("failed_step", Document::String(host.failed_step()))
                       .Set("error", Document::String(host.error())));
    }
  }
  return hosts;
}

// Follows the rollout the apply started, like `pyctl rollout`.
absl::Status WaitForRollout(ControllerClient& client, const v1::ApplyAppResponse& response,
                            Document document, const CommandContext& context) {
  const bool live = context.format == OutputFormat::kTable;
  absl::StatusOr<v1::Rollout> last =
      FollowRollout(client, response.app(), response.rollout(), context);
  if (!last.ok()) {
    if (!live) context.Print(document, "");
    return absl::Status(last.status().code(),
                        absl::StrCat("following rollout ", response.rollout(), " of ",
                                     response.app(), ": ", last.status().message()));
  }
  if (live) {
    *context.out << RolloutSummary(*last) << std::flush;
  } else {
    document.Set("rollout_state", Document::String(RolloutStateName(last->state())));
    document.Set("hosts", RolloutHosts(*last));
    context.Print(document, "");
  }
  return RolloutResult(*last);
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
  Document document = ApplyDocument(response, args.dry_run);
  const bool wait = response.changed() && !args.dry_run && !args.no_wait;
  if (!wait) {
    context.Print(document, ApplyText(response, args.dry_run, context.color));
    return absl::OkStatus();
  }
  const bool live = context.format == OutputFormat::kTable;
  if (live) {
    context.Print(document, ApplyText(response, args.dry_run, context.color));
  }
  if (response.rollout() != 0) {
    return WaitForRollout(*client, response, std::move(document), context);
  }
  absl::StatusOr<DeployOutcome> outcome =
      WaitForDeploy(*client, response, context, live);
  if (!outcome.ok()) {
    if (!live) context.Print(document, "");
    return absl::Status(outcome.status().code(),
                        absl::StrCat("waiting for the deploy of ", response.app(), " revision ",
                                     response.revision(), ": ", outcome.status().message()));
  }
  if (live) {
    const v1::WatchAppEvent& last = outcome->last;
    *context.out << (last.targeted() == 0
                         ? absl::StrCat(response.app(), " revision ", response.revision(),
                                        ": no connected host is targeted\n")
                         : absl::StrCat(response.app(), " revision ", response.revision(),
                                        ": ", last.healthy(), " healthy, ", last.failed(),
                                        " failed, of ", last.targeted(), " host(s)\n"))
                 << std::flush;
  } else {
    document.Set("hosts", OutcomeHosts(*outcome));
    context.Print(document, "");
  }
  return FailedHosts(response, *outcome);
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
  command->add_flag("--no-wait", args->no_wait,
                    "do not follow the deploy; return once the revision is stored");
  command->callback([args, &selected] {
    selected = [args](const CommandContext& context) {
      return RunApply(*args, context);
    };
  });
}

}  // namespace pyservice::cli
