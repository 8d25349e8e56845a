#include "controller/man_page_info.h"

namespace pyservice::controller {

cli_docs::ManPageInfo ControllerManPage() {
  return {
      .section = 8,
      .summary = "stores app revisions and drives rollouts",
      .description =
          "pyservice-controller is the central server of a pyservice fleet. It keeps app "
          "definitions as numbered revisions in an embedded SQLite store (--data-dir), serves "
          "the operator API that pyctl uses, and keeps every connected agent converged on the "
          "apps that target it, moving changes through the fleet in rollout waves.\n\n"
          "Every call needs a credential: operators a token, or root on the admin socket; "
          "agents the certificate the controller's own CA issued when they enrolled. Stored "
          "app specs are encrypted with the secrets key (--secrets-key-file).\n\n"
          "Installed from its Debian package it runs as the system user pyservice-controller "
          "(pyservice-controller.service), with the key created at install time.",
      .extra_sections =
          {{"FILES",
            "/etc/pyservice/controller.yaml: the configuration (--config), keys as in the "
            "options; flags win.\n\n"
            "/etc/pyservice-controller/secrets.key: the secrets key (0600, root's; the unit "
            "hands the service a private copy). Back it up apart from the data dir.\n\n"
            "/var/lib/pyservice-controller: the store and the controller's CA.\n\n"
            "/run/pyservice/admin.sock: the admin socket, where local root needs no token."},
           {"EXIT STATUS",
            "0 after a clean stop (SIGTERM, SIGINT); 1 when it cannot start; 2 for a usage or "
            "configuration file error."},
           {"SEE ALSO", "pyctl(1), pyservice-agent(8)"}},
  };
}

}  // namespace pyservice::controller
