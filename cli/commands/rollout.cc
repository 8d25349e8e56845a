// pyctl rollout NAME --tag TAG [--canary PCT%] [--batch PCT%|N]
//                    [--auto-promote] [--no-wait]
// pyctl rollout status NAME [--watch] [--id N]
// pyctl rollout pause|resume|promote|abort NAME
// pyctl rollout undo NAME [--to-revision N] [--no-wait]
//
// Starting a rollout (and undo) follows it like `rollout status --watch`:
// until it is settled, awaits promotion or is paused (see rollout_follow.h);
// the exit status is 1 when it failed, rolled back or was aborted.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/commands/commands.h"
#include "cli/commands/rollout_follow.h"
#include "cli/commands/rollout_format.h"
#include "common/spec/validators.h"
#include "common/status/status_macros.h"

namespace pyservice::cli {
namespace {

struct RolloutArgs {
  std::string name;
  std::string tag;
  std::string canary;
  std::string batch;
  bool auto_promote = false;
  bool no_wait = false;
  bool watch = false;
  // rollout status: which rollout; 0 for the latest.
  uint32_t id = 0;
  // rollout undo: the revision to go back to; 0 for the one before the live one.
  uint32_t to_revision = 0;
};

std::string Name(const v1::Rollout& rollout) {
  return absl::StrCat("rollout ", rollout.id(), " of ", rollout.app());
}

// "rollout 7 of hello: pending (revision 1 -> 2, tag v2)".
std::string StartedLine(const v1::Rollout& rollout) {
  return absl::StrCat(Name(rollout), ": ", RolloutStateName(rollout.state()), " (revision ",
                      rollout.from_revision(), " -> ", rollout.to_revision(), ", tag ",
                      rollout.tag(), ")\n");
}

// After a rollout was started (by `rollout` or `undo`): print it and stop
// with --no-wait, else follow it. JSON/YAML print one document either way.
absl::Status AfterStart(ControllerClient& client, const v1::Rollout& rollout, bool no_wait,
                        const CommandContext& context) {
  if (no_wait) {
    context.Print(RolloutDocument(rollout), StartedLine(rollout));
    return absl::OkStatus();
  }
  // Following shows the rollout from its first snapshot on.
  return FollowAndReport(client, rollout, context);
}

absl::Status RunStart(const RolloutArgs& args, const CommandContext& context) {
  v1::StartRolloutRequest request;
  request.set_app(args.name);
  request.set_tag(args.tag);
  request.set_auto_promote(args.auto_promote);
  // Checked by the flags' validators already; parsed again for the value.
  if (!args.canary.empty()) {
    ASSIGN_OR_RETURN(*request.mutable_canary(), spec::ParseWaveSize(args.canary, false));
  }
  if (!args.batch.empty()) {
    ASSIGN_OR_RETURN(*request.mutable_batch(), spec::ParseWaveSize(args.batch, true));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client, context.Connect());
  ASSIGN_OR_RETURN(const v1::Rollout rollout, client->StartRollout(request));
  return AfterStart(*client, rollout, args.no_wait, context);
}

absl::Status RunStatus(const RolloutArgs& args, const CommandContext& context) {
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client, context.Connect());
  if (args.watch) {
    ASSIGN_OR_RETURN(const v1::Rollout last,
                     FollowRollout(*client, args.name, args.id, context));
    return ReportRollout(last, context);
  }
  v1::GetRolloutRequest request;
  request.set_app(args.name);
  request.set_id(args.id);
  ASSIGN_OR_RETURN(const v1::Rollout rollout, client->GetRollout(request));
  context.Print(RolloutDocument(rollout), RolloutText(rollout));
  return absl::OkStatus();
}

absl::Status RunControl(const std::string& name, v1::ControlRolloutRequest::Action action,
                        const CommandContext& context) {
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client, context.Connect());
  v1::ControlRolloutRequest request;
  request.set_app(name);
  request.set_action(action);
  ASSIGN_OR_RETURN(const v1::Rollout rollout, client->ControlRollout(request));
  context.Print(RolloutDocument(rollout),
                absl::StrCat(Name(rollout), ": ", RolloutStateName(rollout.state())));
  return absl::OkStatus();
}

absl::Status RunUndo(const RolloutArgs& args, const CommandContext& context) {
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client, context.Connect());
  v1::UndoRolloutRequest request;
  request.set_app(args.name);
  request.set_to_revision(args.to_revision);
  ASSIGN_OR_RETURN(const v1::Rollout rollout, client->UndoRollout(request));
  return AfterStart(*client, rollout, args.no_wait, context);
}

// CLI11 check for --canary (a percentage) and --batch (or a host count):
// a bad value is a usage error naming the flag.
CLI::Validator WaveSizeCheck(bool allow_count) {
  return CLI::Validator(
      [allow_count](std::string& text) -> std::string {
        absl::StatusOr<v1::WaveSize> size = spec::ParseWaveSize(text, allow_count);
        return size.ok() ? std::string() : std::string(size.status().message());
      },
      "");
}

void AddNameOption(CLI::App* command, RolloutArgs& args) {
  command->add_option("name", args.name, "app name")->required()->type_name("NAME");
}

}  // namespace

void AddRolloutCommand(CLI::App& app, Command& selected) {
  auto args = std::make_shared<RolloutArgs>();
  CLI::App* rollout = app.add_subcommand(
      "rollout", "Roll an app out to another tag wave by wave, or follow/control its rollout");
  rollout->add_option("name", args->name, "app name")->type_name("NAME");
  rollout->add_option("--tag", args->tag, "the tag (or branch or commit) to roll out")
      ->type_name("TAG");
  rollout->add_option("--canary", args->canary, "size of the canary wave, e.g. 10%")
      ->check(WaveSizeCheck(false))
      ->type_name("PCT%");
  rollout->add_option("--batch", args->batch, "size of each later wave: 25% or a host count")
      ->check(WaveSizeCheck(true))
      ->type_name("PCT%|N");
  rollout->add_flag("--auto-promote", args->auto_promote,
                    "continue past a healthy canary without `pyctl rollout promote`");
  rollout->add_flag("--no-wait", args->no_wait, "print the rollout and return at once");
  rollout->require_subcommand(0, 1);

  CLI::App* status = rollout->add_subcommand("status", "Show an app's latest rollout (or --id N)");
  AddNameOption(status, *args);
  status->add_flag("--watch", args->watch, "follow it until it settles");
  status->add_option("--id", args->id, "a past rollout of the app, by id (see pyctl history)")
      ->check(CLI::PositiveNumber);
  status->callback([args, &selected] {
    selected = [args](const CommandContext& context) { return RunStatus(*args, context); };
  });

  struct Control {
    const char* name;
    const char* help;
    v1::ControlRolloutRequest::Action action;
  };
  for (const Control& control : {
           Control{"pause", "Start no further wave until resume",
                   v1::ControlRolloutRequest::ACTION_PAUSE},
           Control{"resume", "Continue a paused rollout", v1::ControlRolloutRequest::ACTION_RESUME},
           Control{"promote", "Continue past the healthy canary wave",
                   v1::ControlRolloutRequest::ACTION_PROMOTE},
           Control{"abort", "Stop the rollout and put touched hosts back",
                   v1::ControlRolloutRequest::ACTION_ABORT},
       }) {
    CLI::App* command = rollout->add_subcommand(control.name, control.help);
    AddNameOption(command, *args);
    const auto action = control.action;
    command->callback([args, action, &selected] {
      selected = [args, action](const CommandContext& context) {
        return RunControl(args->name, action, context);
      };
    });
  }

  CLI::App* undo = rollout->add_subcommand(
      "undo", "Roll the previous good revision out again (as a new revision)");
  AddNameOption(undo, *args);
  undo->add_flag("--no-wait", args->no_wait, "print the rollout and return at once");
  undo->add_option("--to-revision", args->to_revision,
                   "roll out this revision's spec again (see `pyctl history NAME`)")
      ->type_name("N")
      ->check(CLI::PositiveNumber);
  undo->callback([args, &selected] {
    selected = [args](const CommandContext& context) { return RunUndo(*args, context); };
  });

  // Runs after a subcommand's callback: only the bare form is handled here.
  rollout->callback([rollout, args, &selected] {
    if (!rollout->get_subcommands().empty()) return;
    if (args->name.empty()) throw CLI::RequiredError("name (the app to roll out)");
    if (args->tag.empty()) throw CLI::RequiredError("--tag");
    selected = [args](const CommandContext& context) { return RunStart(*args, context); };
  });
}

}  // namespace pyservice::cli
