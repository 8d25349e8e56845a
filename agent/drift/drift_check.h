// Drift: what the agent installed for an app's live release and someone
// changed on the host since. Only what the agent itself put there is
// looked at — the files it wrote (AppState.files: unit files, files:
// entries, config.yaml, the ssh key), the units' enablement and masking,
// and the code symlink — never the release trees (the deploy's tree digest
// covers those), so a check costs a few small reads and D-Bus calls.
//
// Contents are compared by sha256 with what the last deploy recorded and
// never leave this file: findings name paths and units, not what is in them
// (files: entries and config.yaml hold secrets).
#ifndef PYSERVICE_AGENT_DRIFT_DRIFT_CHECK_H_
#define PYSERVICE_AGENT_DRIFT_DRIFT_CHECK_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/systemd/systemd_manager.h"
#include "pyservice/v1/agent_state.pb.h"

namespace pyservice::agent {

struct DriftFinding {
  // A file's absolute path, or a unit's name.
  std::string path;
  // "changed", "missing", "mode changed", "not a regular file", "disabled",
  // "masked", "points to X, not the live release Y".
  std::string reason;
};

// What drifted from `state`'s live release, in a stable order (written
// files as recorded, then units, then the code symlink). Empty when nothing
// is live or a deploy is unfinished (the deploy owns the files then).
// Errors: a file that cannot be read for another reason than being gone
// or replaced, or systemd unreachable (UNAVAILABLE); nothing is reported
// then rather than a guess.
absl::StatusOr<std::vector<DriftFinding>> FindDrift(const v1::AppState& state,
                                                    SystemdManager& systemd);

// "PATH (REASON), ..." for logs and messages.
std::string DescribeDrift(const std::vector<DriftFinding>& findings);

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_DRIFT_DRIFT_CHECK_H_
