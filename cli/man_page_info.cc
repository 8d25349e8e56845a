#include "cli/man_page_info.h"

namespace pyservice::cli {

cli_docs::ManPageInfo PyctlManPage() {
  return {
      .section = 1,
      .summary = "operate pyservice apps through the controller",
      .description =
          "pyctl is the operator's command line for pyservice-controller. It stores app "
          "definitions (app.yaml) as numbered revisions, starts and steers rollouts "
          "(canary, batches, pause, resume, promote, abort, undo), lists apps and hosts, "
          "shows what every host runs, and manages access tokens and host enrollment.\n\n"
          "Every command talks to the controller over gRPC, at --controller (default "
          "127.0.0.1:7070). Operators bring a token (--token-file or PYCTL_TOKEN); root on "
          "the controller's machine needs none on its admin socket "
          "(unix:/run/pyservice/admin.sock). Global options may follow the command: "
          "pyctl get apps -o json.\n\n"
          "The app.yaml format and the JSON output shapes are the public interface in the "
          "project's docs/INTERFACES.md.",
      .extra_sections =
          {{"ENVIRONMENT",
            "PYCTL_CONTROLLER, PYCTL_TLS_CA, PYCTL_TLS_CERT, PYCTL_TLS_KEY and "
            "PYCTL_TOKEN_FILE set the options of the same names. PYCTL_TOKEN holds the "
            "operator token itself."},
           {"EXIT STATUS",
            "0 on success; 2 for a usage error; 1 when the command failed (the reason on "
            "stderr, naming the field, host or step)."},
           {"FILES",
            "/usr/share/bash-completion/completions/pyctl: bash completion, made by pyctl "
            "completion bash."},
           {"SEE ALSO", "pyservice-controller(8), pyservice-agent(8)"}},
  };
}

}  // namespace pyservice::cli
