// pyservice-agent: wiring only. The daemon is agent/daemon/, the pipeline
// agent/install/, the local commands agent/cli/.
//
//   pyservice-agent [--config FILE] --controller ADDR [--host NAME]
//                   [--label K=V]... [--state-dir DIR]      the daemon
//                   [--tls-ca FILE [--tls-cert FILE --tls-key FILE |
//                               --enrollment-token-file FILE]
//                    [--tls-server-name NAME]] [--insecure]
//   pyservice-agent apply APP.yaml | rollback APP | remove APP | status [APP]
//
// Settings: built-in defaults, then the --config file, then flags (--label
// adds to the file's labels). Exit status: 0 after a clean stop or a
// successful command, 1 when a command fails or the daemon cannot start,
// 2 for a usage or config file error.
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "agent/cli/local_commands.h"
#include "agent/config/agent_config.h"
#include "agent/daemon/agent_daemon.h"
#include "agent/enroll/agent_identity.h"
#include "agent/enroll/certificate_renewer.h"
#include "agent/git/child_process_fetcher.h"
#include "agent/git/libgit2_fetcher.h"
#include "agent/host/process_runner.h"
#include "agent/host/shadow_user_manager.h"
#include "agent/man_page_info.h"
#include "agent/systemd/dbus_systemd_manager.h"
#include "common/cli_docs/docs_commands.h"
#include "common/logging/logging.h"
#include "common/metrics/metrics_endpoint.h"
#include "common/metrics/registry.h"
#include "common/systemd/notify.h"
#include "common/tls/credentials.h"
#include "common/tls/plaintext.h"
#include "spdlog/spdlog.h"

namespace {

using namespace pyservice;
using namespace pyservice::agent;

int Fail(absl::string_view message, int status = 2) {
  absl::FPrintF(stderr, "pyservice-agent: %s\n", message);
  return status;
}

// Runs the daemon until SIGTERM or SIGINT. The signals are blocked in every
// thread and taken by one with sigwait(2), which then stops the daemon like
// any other code would (a handler could not: Stop takes locks). A second
// signal ends the process at once, for an operator who will not wait for a
// running step.
int RunDaemon(DaemonOptions options, HostServices& host, const AgentSettings& settings,
              const sigset_t& stop_signals) {
  AgentDaemon daemon(std::move(options), host, settings);
  std::atomic<bool> exiting = false;
  std::thread signals([&] {
    int signal_number = 0;
    if (sigwait(&stop_signals, &signal_number) != 0 || exiting) return;
    spdlog::info("received SIG{}, stopping", sigabbrev_np(signal_number));
    daemon.Stop();
    if (sigwait(&stop_signals, &signal_number) != 0 || exiting) return;
    std::_Exit(128 + signal_number);
  });
  // Type=notify: the agent is up once its signals are handled; reaching the
  // controller is not a condition (it works without one).
  if (absl::Status notified = NotifyServiceManager("READY=1"); !notified.ok()) {
    spdlog::warn("sd_notify: {}", std::string(notified.message()));
  }
  const absl::Status status = daemon.Run();
  exiting = true;
  pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  if (!status.ok()) {
    spdlog::error("{}", std::string(status.message()));
    return 1;
  }
  spdlog::info("stopped");
  return 0;
}

// TLS without --tls-cert/--tls-key: the client certificate is the one the
// host enrolled for (agent/enroll/), in the state dir.
bool UsesEnrolledIdentity(const AgentConfig& config) {
  return !config.tls_ca.empty() && config.tls_cert.empty() && config.tls_key.empty();
}

// The controller channel's credentials: TLS when a CA is configured, else
// null (plaintext) where that is allowed: unix: sockets, loopback, or
// --insecure (with a warning). With an enrolled identity these are the
// enrollment's (no client certificate), made here to check the CA file
// before anything starts.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(
    const AgentConfig& config) {
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key go together: give both or neither");
  }
  if (!config.enrollment_token_file.empty() && !UsesEnrolledIdentity(config)) {
    return absl::InvalidArgumentError(
        "--enrollment-token-file needs --tls-ca and no --tls-cert/--tls-key: the "
        "certificate the host enrolls for is its client certificate");
  }
  if (config.tls_ca.empty()) {
    if (!config.tls_cert.empty() || !config.tls_server_name.empty()) {
      return absl::InvalidArgumentError(
          "--tls-cert, --tls-key and --tls-server-name need --tls-ca (the CA "
          "the controller's certificate must chain to)");
    }
    for (const std::string& address : ControllerAddresses(config.controller)) {
      absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> plaintext =
          tls::MakeInsecureChannelCredentials(address, config.insecure);
      if (!plaintext.ok()) return plaintext.status();
    }
    return std::shared_ptr<grpc::ChannelCredentials>();
  }
  tls::TlsClientOptions options;
  options.ca_file = config.tls_ca;
  options.cert_file = config.tls_cert;
  options.key_file = config.tls_key;
  options.server_name_override = config.tls_server_name;
  return tls::MakeChannelCredentials(options);
}

IdentityOptions EnrollmentOptions(const AgentConfig& config) {
  IdentityOptions options;
  options.state_dir = config.state_dir;
  // Enrollment and renewal find the leader among the addresses
  // (enrollment_calls.h, docs/INTERFACES.md).
  options.controller.addresses = ControllerAddresses(config.controller);
  options.controller.tls_server_name = config.tls_server_name;
  options.tls_ca = config.tls_ca;
  options.enrollment_token_file = config.enrollment_token_file;
  options.requested_host = config.host;
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  SetHomeForLibgit2();  // changes the environment: before any thread starts
  // The daemon's own fetch child (child_process_fetcher.h); not for users.
  if (argc == 2 && std::string(argv[1]) == kFetchChildArgument) return RunFetchChild();
  CLI::App app{"pyservice-agent: installs and runs pyservice apps on this host"};
  app.name("pyservice-agent");  // not argv[0]: the man page and completion name it
  app.require_subcommand(0, 1);
  std::string config_path, state_dir, log_level, controller, host_name;
  std::vector<std::string> pip_options, labels;
  app.add_option("--config", config_path,
                 "YAML file with keys controller, host, labels, state_dir, pip_options, log_level")
      ->type_name("FILE");
  app.add_option("--controller", controller,
                 "controller address, HOST:PORT or unix:/path (daemon mode); several, comma-separated, "
                 "for controllers on one etcd store: the agent finds the leader")
      ->type_name("ADDR");
  app.add_option("--host", host_name, "this host's name for the controller (default: hostname)")
      ->type_name("NAME");
  app.add_option("--label", labels, "host label K=V, repeatable")
      ->type_name("K=V")
      ->allow_extra_args(false);
  app.add_option("--state-dir", state_dir, "agent state (default /var/lib/pyservice-agent)")
      ->type_name("DIR");
  app.add_option("--pip-option", pip_options,
                 "extra pip argument for the venv backend, repeatable (e.g. --no-index)")
      ->allow_extra_args(false);
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  std::string tls_ca, tls_cert, tls_key, tls_server_name;
  bool insecure = false;
  std::string metrics_listen;
  CLI::Option* metrics_listen_option =
      app.add_option("--metrics-listen", metrics_listen,
                     "HOST:PORT serving GET /metrics for Prometheus (daemon mode); \"\" turns "
                     "it off (default 127.0.0.1:9465)")
          ->type_name("ADDR");
  app.add_option("--tls-ca", tls_ca, "CA (PEM) of the controller's certificate: use TLS")
      ->type_name("FILE");
  app.add_option("--tls-cert", tls_cert, "this host's client certificate (PEM), for mutual TLS")
      ->type_name("FILE");
  app.add_option("--tls-key", tls_key, "the client certificate's key (PEM)")->type_name("FILE");
  app.add_option("--tls-server-name", tls_server_name,
                 "verify the controller's certificate against NAME, not the address's host")
      ->type_name("NAME");
  std::string enrollment_token_file;
  app.add_option("--enrollment-token-file", enrollment_token_file,
                 "file with a token from `pyctl host enroll-token`: enroll this host at its "
                 "first start (needs --tls-ca)")
      ->type_name("FILE");
  app.add_flag("--insecure", insecure,
               "allow plaintext to a non-loopback TCP controller (logs a warning)");

  std::string app_yaml, tag, app_name;
  CLI::App* apply = app.add_subcommand("apply", "run the install pipeline for APP.yaml here");
  apply->add_option("app_yaml", app_yaml, "the app definition")->required();
  apply->add_option("--tag", tag, "deploy this tag, branch or commit instead of the file's");
  CLI::App* rollback = app.add_subcommand("rollback", "switch APP back to its previous release");
  rollback->add_option("app", app_name, "app name")->required();
  CLI::App* remove = app.add_subcommand(
      "remove", "take APP off this host: stop and delete its units, delete its secrets");
  remove->add_option("app", app_name, "app name")->required();
  CLI::App* status = app.add_subcommand("status", "what this host runs");
  status->add_option("app", app_name, "only this app");
  cli_docs::DocsCommands docs;
  cli_docs::AddDocsCommands(app, docs);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (std::optional<int> done = cli_docs::RunDocsCommand(app, docs, AgentManPage(), std::cout)) {
    return *done;
  }
  const bool daemon_mode = app.get_subcommands().empty();

  AgentConfig config;
  if (!daemon_mode) config.log_level = "warn";  // commands print their own output
  if (!config_path.empty()) {
    absl::StatusOr<AgentConfig> loaded = LoadAgentConfig(config_path, config);
    if (!loaded.ok()) return Fail(loaded.status().message());
    config = *std::move(loaded);
  }
  if (!controller.empty()) {
    if (absl::Status valid = ValidateControllerAddresses(controller); !valid.ok()) {
      return Fail(absl::StrCat("--controller: ", valid.message()));
    }
    config.controller = controller;
  }
  if (!host_name.empty()) config.host = host_name;
  for (const std::string& flag : labels) {
    absl::StatusOr<std::pair<std::string, std::string>> label = ParseLabelFlag(flag);
    if (!label.ok()) return Fail(label.status().message());
    config.labels[label->first] = label->second;
  }
  if (!state_dir.empty()) config.state_dir = state_dir;
  if (!pip_options.empty()) config.pip_options = pip_options;
  if (!log_level.empty()) config.log_level = log_level;
  if (!tls_ca.empty()) config.tls_ca = tls_ca;
  if (!tls_cert.empty()) config.tls_cert = tls_cert;
  if (!tls_key.empty()) config.tls_key = tls_key;
  if (!tls_server_name.empty()) config.tls_server_name = tls_server_name;
  if (metrics_listen_option->count() > 0) config.metrics_listen = metrics_listen;
  if (!enrollment_token_file.empty()) config.enrollment_token_file = enrollment_token_file;
  if (insecure) config.insecure = true;
  if (daemon_mode && config.controller.empty()) {
    return Fail("give a command (apply, rollback, remove, status) or --controller ADDR");
  }
  if (daemon_mode && config.host.empty()) {
    absl::StatusOr<std::string> hostname = MachineHostname();
    if (!hostname.ok()) return Fail(hostname.status().message());
    config.host = *hostname;
  }
  if (absl::Status logging = SetUpLogging("pyservice-agent", config.log_level); !logging.ok()) {
    return Fail(logging.message());
  }
  // Checked before anything else starts: a TLS mistake is a config error.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (daemon_mode) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> made = MakeCredentials(config);
    if (!made.ok()) return Fail(made.status().message());
    credentials = *std::move(made);
  }
  AgentSettings settings;
  settings.state_dir = config.state_dir;
  settings.pip_options = config.pip_options;
  settings.spec_policy = config.spec_policy;
  settings.environment_timeout = config.timeouts.environment;
  settings.fetch_timeout = config.timeouts.fetch;

  // Before any thread exists (the D-Bus loop, gRPC): threads inherit the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (daemon_mode) pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  SystemClock clock;
  // After the signal mask: enrolling starts gRPC's threads.
  std::unique_ptr<AgentIdentity> identity;
  std::optional<CertificateRenewer> renewer;
  if (daemon_mode && UsesEnrolledIdentity(config)) {
    absl::StatusOr<std::unique_ptr<AgentIdentity>> enrolled =
        AgentIdentity::EnsureEnrolled(EnrollmentOptions(config), clock);
    if (!enrolled.ok()) return Fail(enrolled.status().message(), 1);
    identity = *std::move(enrolled);
    if (identity->host() != config.host) {
      spdlog::info("this host is {} by its certificate (not {})", identity->host(), config.host);
    }
    renewer.emplace(*identity);
    renewer->Start();
  }

  absl::StatusOr<std::unique_ptr<DbusSystemdManager>> systemd = DbusSystemdManager::Connect();
  if (!systemd.ok()) {
    return Fail(absl::StrCat("cannot reach systemd: ", systemd.status().message()), 1);
  }
  if (*status) return StatusCommand(app_name, **systemd, settings, stdout);

  SubprocessRunner processes;
  ChildProcessGitFetcher git(processes, ChildProcessFetcherOptions());
  ShadowUserManager users(processes, config.timeouts.user);
  HostServices host{**systemd, git, processes, users, clock,
                    [](absl::Duration d) { absl::SleepFor(d); }};
  if (*apply) return ApplyCommand(app_yaml, tag, host, settings);
  if (*rollback) return RollbackCommand(app_name, host, settings);
  if (*remove) return RemoveCommand(app_name, host, settings);

  DaemonOptions options;
  options.connection.address = config.controller;
  if (identity != nullptr) {
    options.connection.credentials = [&identity = *identity] { return identity.Credentials(); };
  } else {
    options.connection.credentials = [credentials] { return credentials; };
  }
  options.connection.tls_server_name = config.tls_server_name;
  options.connection.keepalive_time = config.keepalive_time;
  options.connection.keepalive_timeout = config.keepalive_timeout;
  options.drift_check_interval = config.drift_check_interval;
  options.host = identity != nullptr ? identity->host() : config.host;
  options.labels = config.labels;

  metrics::Registry metrics_registry;
  absl::StatusOr<std::unique_ptr<AgentMetrics>> agent_metrics =
      AgentMetrics::Register(metrics_registry);
  if (!agent_metrics.ok()) return Fail(agent_metrics.status().message(), 1);
  options.metrics = agent_metrics->get();
  options.connection.on_link_change = [counted = agent_metrics->get()](bool connected) {
    counted->LinkChanged(connected);
  };
  std::unique_ptr<http::HttpServer> metrics_server;
  if (!config.metrics_listen.empty()) {
    absl::StatusOr<std::unique_ptr<http::HttpServer>> started =
        metrics::StartMetricsServer(config.metrics_listen, metrics_registry);
    if (absl::IsInvalidArgument(started.status())) {
      return Fail(absl::StrCat("metrics.listen: ", started.status().message()));
    }
    // Metrics must never keep the host from being served: a busy port is
    // logged, not fatal.
    if (!started.ok()) {
      spdlog::error("metrics endpoint off: {}", std::string(started.status().message()));
    } else {
      metrics_server = *std::move(started);
      spdlog::info("metrics on {}", metrics_server->address());
    }
  }
  return RunDaemon(std::move(options), host, settings, stop_signals);
}
