#include "agent/man_page_info.h"

namespace pyservice::agent {

cli_docs::ManPageInfo AgentManPage() {
  return {
      .section = 8,
      .summary = "installs and runs pyservice apps on this host",
      .description =
          "pyservice-agent runs as root on every host. Without a command it is a daemon: it "
          "dials the controller (--controller), keeps one stream open, and converges the host "
          "on the apps the controller assigns to it, running the install pipeline (user, app "
          "tree, git checkout into side-by-side releases, environment, files, config.yaml, "
          "systemd units, health-verified switch with automatic rollback). It keeps apps "
          "running while the controller is away.\n\n"
          "The commands apply, rollback, remove and status work locally, without a "
          "controller.\n\n"
          "Installed from its Debian package, the service pyservice-agent.service is enabled "
          "but not started: give the controller's address and the host's credentials in "
          "/etc/pyservice/agent.yaml (tls_ca and enrollment_token_file, a token from pyctl "
          "host enroll-token), then systemctl start pyservice-agent.",
      .extra_sections =
          {{"FILES",
            "/etc/pyservice/agent.yaml: the configuration (--config), keys as in the "
            "options; flags win.\n\n"
            "/var/lib/pyservice-agent: the agent's state and, once enrolled, its "
            "certificate (tls/).\n\n"
            "/lib/systemd/system/pyservice-agent.service: the systemd unit."},
           {"EXIT STATUS",
            "0 after a clean stop (SIGTERM, SIGINT); 1 when it cannot start; 2 for a usage or "
            "configuration file error (the unit does not restart it then)."},
           {"SEE ALSO", "pyctl(1), pyservice-controller(8)"}},
  };
}

}  // namespace pyservice::agent
