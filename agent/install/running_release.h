// Which release an app's services run, read from their processes rather
// than from the agent's state. The state is saved after each step, so an
// agent killed after systemd accepted the units step's restart and before
// that save leaves a state naming the old release while the new one runs;
// `status` reports what runs from here.
//
// systemd resolves WorkingDirectory= (APP_DIR/code, a symlink) when it
// starts a service, so the main process's working directory is the
// release directory it was started in, whatever the symlink names now.
#ifndef PYSERVICE_AGENT_INSTALL_RUNNING_RELEASE_H_
#define PYSERVICE_AGENT_INSTALL_RUNNING_RELEASE_H_

#include <string>

#include "absl/status/statusor.h"
#include "agent/systemd/systemd_manager.h"
#include "pyservice/v1/spec.pb.h"

namespace pyservice::agent {

// The release id the services of `expanded` (an expanded spec) run: the
// directory under its releases directory that their main processes work
// in. "" when none runs there (stopped, restarting, or started from
// elsewhere). Services running different releases (one restarted, one not
// yet) are reported as the first service's. `proc` is /proc, or a tree
// laid out like it in tests.
absl::StatusOr<std::string> RunningReleaseId(const v1::AppSpec& expanded, SystemdManager& systemd,
                                             const std::string& proc = "/proc");

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_INSTALL_RUNNING_RELEASE_H_
