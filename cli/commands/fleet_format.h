// How pyctl shows the fleet: the words for health, deploy and step states,
// one host's app status as a Document (INTERFACES.md's `pyctl status`
// shape) and as table cells, and deploy progress lines. Shared by apply,
// describe, get hosts and status.
#ifndef PYSERVICE_CLI_COMMANDS_FLEET_FORMAT_H_
#define PYSERVICE_CLI_COMMANDS_FLEET_FORMAT_H_

#include <string>
#include <vector>

#include "cli/output/document.h"
#include "common/api/step_state_name.h"
#include "pyservice/v1/controller.pb.h"

namespace pyservice::cli {

// healthy|progressing|degraded|failed|unknown.
std::string HealthName(v1::HealthState health);
// pending|deploying|healthy|failed|removing, "" when unspecified.
std::string DeployStateName(v1::HostDeployState state);

// {"host", "connected", "revision", "tag", "commit", "health",
//  "units": [{"unit", "active_state", "sub_state", "result",
//  "exec_main_status"}], then "targeted", "state", "message", "failed_step",
//  "drift": [{"path", "reason", "detected_at", "repaired"}]}.
Document HostAppStatusDocument(const v1::HostAppStatus& status);
// {"app", "hosts": [...]} (then "revision", "tag").
Document AppStatusDocument(const v1::AppStatus& status);

// "hello-web.service active/running, hello-report.timer active/waiting".
std::string UnitsText(const v1::HostAppStatus& status);

// "-", or what the host's agent found changed by hand:
// "/etc/systemd/system/hello-web.service (changed), ... (missing, repaired)".
std::string DriftText(const v1::HostAppStatus& status);

// The header and rows of a host table for one app:
// HOST CONNECTED REVISION TAG HEALTH STATE UNITS DRIFT.
std::vector<std::string> HostStatusHeader();
std::vector<std::string> HostStatusRow(const v1::HostAppStatus& status);

// One line of live deploy progress for a host, without newline:
//   "h1: checkout running", "h1: checkout done (1.2s)", "h1: healthy",
//   "h1: failed at verify: unit hello-web.service failed".
std::string ProgressLine(const v1::HostDeployProgress& progress);

}  // namespace pyservice::cli

#endif  // PYSERVICE_CLI_COMMANDS_FLEET_FORMAT_H_
