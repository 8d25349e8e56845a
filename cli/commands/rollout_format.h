// How pyctl shows a rollout: the JSON/YAML
// document (INTERFACES.md's `pyctl rollout status` shape), the table view
// that is also the live frame redrawn on a terminal, the plain lines
// printed per change when stdout is not a terminal, and when to stop
// waiting and with which exit status. Shared by apply, rollout, rollout
// status and rollout undo.
#ifndef PYSERVICE_CLI_COMMANDS_ROLLOUT_FORMAT_H_
#define PYSERVICE_CLI_COMMANDS_ROLLOUT_FORMAT_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cli/output/document.h"
#include "common/api/rollout_names.h"
#include "pyservice/v1/controller.pb.h"

namespace pyservice::cli {

// The state names are common/api/rollout_names.h's.
using ::pyservice::PrepareStateName;
using ::pyservice::RolloutHostStateName;
using ::pyservice::RolloutStateName;

// {"app", "id", "from_revision", "to_revision", "tag", "state",
//  "waves": [{"index", "canary", "hosts": [{"host", "state", then extras}],
//  then extras}], then extras ("from_tag", "message", "cause", ...)}.
Document RolloutDocument(const v1::Rollout& rollout);

// "[###-----] 3/8 healthy" for one wave (`width` marks).
std::string WaveProgressBar(const v1::RolloutWave& wave, int width = 8);

// The human view of a rollout: a header line, the strategy and message,
// then per wave a line with its progress bar followed by its hosts (state,
// step, elapsed, prepare-ahead, error). Used by `pyctl rollout status` and,
// redrawn in place, as the live frame on a terminal.
std::string RolloutText(const v1::Rollout& rollout);

// One plain line for a host, without newline, e.g.
//   "h1 (canary): deploying: checkout running"
//   "h3 (wave 2): pending, prepared"
//   "h2 (wave 1): failed at verify: unit hello-web.service failed"
std::string RolloutHostLine(const v1::RolloutWave& wave,
                            const v1::RolloutHost& host);

// Plain progress for a pipe: each snapshot yields only the lines that
// changed since the previous one (a host's state/step/prepare, the
// rollout's state or message, a wave starting), never the same line twice
// in a row.
class RolloutLineRenderer {
 public:
  // The new lines for `rollout`, each ending in "\n".
  std::string Update(const v1::Rollout& rollout);

 private:
  bool first_ = true;
  std::string state_line_;
  int current_wave_ = -1;
  std::map<std::string, std::string> host_lines_;
};

// When to stop following a rollout.
enum class RolloutStop {
  kContinue,           // still moving
  kSucceeded,          // settled, every wave healthy
  kAwaitingPromotion,  // the canary is healthy; waits for promote
  kPaused,             // waits for resume
  kFailed,             // settled as failed, rolled_back or aborted
};
RolloutStop StopFor(const v1::Rollout& rollout);

// The last line(s) for the operator once following stops (table output),
// with a final newline: "rollout 7 of hello succeeded: 4/4 hosts healthy on
// revision 2 (v2)", "canary healthy: 1/1; promote with `pyctl rollout
// promote hello`", how to resume a paused one, or why it failed.
std::string RolloutSummary(const v1::Rollout& rollout);

// The exit status for a rollout that was followed to its end (the last
// snapshot): OK when it succeeded, awaits promotion or is paused; ABORTED
// for failed, rolled_back or aborted, with one line naming the message and
// each failed host with its failed step and error; UNAVAILABLE when it is
// still moving (the stream ended early).
absl::Status RolloutResult(const v1::Rollout& rollout);

}  // namespace pyservice::cli

#endif  // PYSERVICE_CLI_COMMANDS_ROLLOUT_FORMAT_H_
