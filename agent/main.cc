// pyservice-agent: wiring only. The pipeline is agent/install/, the local
// commands agent/cli/.
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "agent/cli/local_commands.h"
#include "agent/git/libgit2_fetcher.h"
#include "agent/host/process_runner.h"
#include "agent/host/shadow_user_manager.h"
#include "agent/systemd/dbus_systemd_manager.h"
#include "common/logging/logging.h"

namespace {

using namespace pyservice;
using namespace pyservice::agent;

int Fail(absl::string_view message) {
  absl::FPrintF(stderr, "pyservice-agent: %s\n", message);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"pyservice-agent: installs and runs pyservice apps on this host"};
  app.require_subcommand(0, 1);
  AgentSettings settings;
  std::string log_level = "warn";
  std::string controller;
  app.add_option("--state-dir", settings.state_dir, "agent state (default /var/lib/pyservice-agent)");
  app.add_option("--pip-option", settings.pip_options,
                 "extra pip argument for the venv backend, repeatable (e.g. --no-index)")
      ->allow_extra_args(false);
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  app.add_option("--controller", controller, "controller address (daemon mode)");

  std::string app_yaml, tag, app_name;
  CLI::App* apply = app.add_subcommand("apply", "run the install pipeline for APP.yaml here");
  apply->add_option("app_yaml", app_yaml, "the app definition")->required();
  apply->add_option("--tag", tag, "deploy this tag, branch or commit instead of the file's");
  CLI::App* rollback = app.add_subcommand("rollback", "switch APP back to its previous release");
  rollback->add_option("app", app_name, "app name")->required();
  CLI::App* status = app.add_subcommand("status", "what this host runs");
  status->add_option("app", app_name, "only this app");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (absl::Status logging = SetUpLogging("pyservice-agent", log_level); !logging.ok()) {
    return Fail(logging.message());
  }
  if (app.get_subcommands().empty()) {
    return Fail(controller.empty()
                    ? "give a command (apply, rollback, status) or --controller ADDR"
                    : "daemon mode (--controller) is not available yet; use apply/rollback/status");
  }

  absl::StatusOr<std::unique_ptr<DbusSystemdManager>> systemd = DbusSystemdManager::Connect();
  if (!systemd.ok()) return Fail(absl::StrCat("cannot reach systemd: ", systemd.status().message()));
  if (*status) return StatusCommand(app_name, **systemd, settings, stdout);

  Libgit2Fetcher git;
  SubprocessRunner processes;
  ShadowUserManager users(processes);
  SystemClock clock;
  HostServices host{**systemd, git, processes, users, clock,
                    [](absl::Duration d) { absl::SleepFor(d); }};
  if (*apply) return ApplyCommand(app_yaml, tag, host, settings);
  return RollbackCommand(app_name, host, settings);
}
