// Following a rollout to the point where pyctl stops waiting (settled,
// awaiting promotion or paused), with live progress: a frame redrawn in
// place on a terminal, one plain line per change when stdout is not a
// terminal, nothing for -o json|yaml (they print one document at the end).
// Shared by apply, rollout, rollout status --watch and rollout undo.
#ifndef PYSERVICE_CLI_COMMANDS_ROLLOUT_FOLLOW_H_
#define PYSERVICE_CLI_COMMANDS_ROLLOUT_FOLLOW_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "cli/client/controller_client.h"
#include "cli/commands/command.h"
#include "pyservice/v1/controller.pb.h"

namespace pyservice::cli {

// Follows rollout `id` of `app` (0: its latest) with WatchRollout until
// StopFor() says to stop or the stream ends; returns the last snapshot.
absl::StatusOr<v1::Rollout> FollowRollout(ControllerClient& client,
                                          const std::string& app, uint32_t id,
                                          const CommandContext& context);

// Prints the outcome of a followed rollout -- RolloutSummary for table
// output, RolloutDocument for JSON/YAML -- and returns RolloutResult (the
// exit status).
absl::Status ReportRollout(const v1::Rollout& rollout,
                           const CommandContext& context);

// FollowRollout then ReportRollout; errors of the watch itself name the
// rollout.
absl::Status FollowAndReport(ControllerClient& client, const v1::Rollout& rollout,
                             const CommandContext& context);

}  // namespace pyservice::cli

#endif  // PYSERVICE_CLI_COMMANDS_ROLLOUT_FOLLOW_H_
