// `pyservice-agent apply | rollback | remove | status`: the pipeline run locally, no
// controller. Each returns the process exit status and prints a one-line
// reason on stderr when it fails.
#ifndef PYSERVICE_AGENT_CLI_LOCAL_COMMANDS_H_
#define PYSERVICE_AGENT_CLI_LOCAL_COMMANDS_H_

#include <cstdio>
#include <string>

#include "agent/install/deploy.h"

namespace pyservice::agent {

// Parses APP.yaml (optionally with another tag) and deploys it.
int ApplyCommand(const std::string& app_yaml, const std::string& tag, HostServices& host,
                 const AgentSettings& settings);

// Switches APP back to its previous kept release.
int RollbackCommand(const std::string& app, HostServices& host, const AgentSettings& settings);

// Takes APP off this host as a controller's RemoveRequest does
// (Pipeline::Remove): units stopped and deleted, secrets deleted.
int RemoveCommand(const std::string& app, HostServices& host, const AgentSettings& settings);

// What runs here: per app (or just `app`), the live release and each unit's
// state.
int StatusCommand(const std::string& app, SystemdManager& systemd, const AgentSettings& settings,
                  std::FILE* out);

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_CLI_LOCAL_COMMANDS_H_
