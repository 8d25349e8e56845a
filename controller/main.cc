// pyservice-controller: flags and config file, then store, service and
// server wired together, then serve until SIGTERM/SIGINT.
//
// Logs go to stderr. Once every listener is bound it logs, per address in
// --listen order, one line whose message is exactly
//   listening on ADDR
// where ADDR is in the form --listen takes, with the real port for port 0
// ("listening on 127.0.0.1:41234", "listening on unix:/run/p.sock").
// Scripts and tests wait for these lines; keep them stable.
//
// Transport security: --tls-cert/--tls-key serve TLS on every listener
// (docs/DESIGN.md). Without TLS, plaintext only on unix: sockets and
// loopback addresses unless --insecure.
//
// Access (docs/SECURITY.md): every RPC passes auth::Guard. Operators bring
// a token, or are root on --admin-socket; agents bring the certificate the
// controller's own CA (--ca-dir; on etcd, the cluster's CA kept in etcd)
// issued when they enrolled.
//
// Stored app specs are sealed with a key from --secrets-key-file (created
// if missing, never inside the data dir); `init-secrets-key` only creates
// it (controller/secrets/key_file.h); `rotate-secrets-key` replaces it,
// sealing the store again (controller/secrets/rotate_key.h).
//
// Exit status: 0 after a clean stop, 1 when it cannot start (the reason is
// the last line on stderr), 2 for a usage or config file error (TLS
// settings and refused plaintext included).
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <unistd.h>
#include <string.h>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/cli_docs/docs_commands.h"
#include "common/http/http_server.h"
#include "absl/synchronization/notification.h"
#include "common/logging/logging.h"
#include "common/metrics/metrics_endpoint.h"
#include "common/metrics/registry.h"
#include "common/systemd/notify.h"
#include "common/time/clock.h"
#include "common/tls/credentials.h"
#include "common/tls/pki.h"
#include "common/tls/plaintext.h"
#include "controller/auth/access_control.h"
#include "controller/auth/authorized_controller_service.h"
#include "controller/auth/guard.h"
#include "controller/config/controller_config.h"
#include "controller/dashboard/dashboard_routes.h"
#include "controller/fleet/agent_service.h"
#include "controller/fleet/fleet.h"
#include "controller/man_page_info.h"
#include "controller/fleet/fleet_metrics.h"
#include "controller/fleet/fleet_state_metrics.h"
#include "controller/secrets/key_file.h"
#include "controller/secrets/rotate_key.h"
#include "controller/server/controller_server.h"
#include "common/net/listen_address.h"
#include "controller/server/shutdown_signals.h"
#include "controller/service/controller_service.h"
#include "controller/etcd/etcd_agent_ca.h"
#include "controller/etcd/etcd_client.h"
#include "controller/etcd/ha_startup.h"
#include "controller/etcd/leader_election.h"
#include "controller/etcd/migrate.h"
#include "controller/store/aes_gcm_spec_sealer.h"
#include "controller/store/etcd_store.h"
#include "controller/store/sqlite_store.h"
#include "controller/store/stored_spec.h"
#include "spdlog/spdlog.h"

namespace {

constexpr char kProgram[] = "pyservice-controller";
constexpr int kExitCannotStart = 1;
constexpr int kExitUsage = 2;
// A leader on etcd whose lease ended (docs/DESIGN.md, "High availability").
constexpr int kExitLostLeadership = 3;

// Before logging is set up (its level comes from the config), errors go to
// stderr plainly.
int UsageError(absl::string_view message) {
  std::fprintf(stderr, "%s: %.*s\n", kProgram,
               static_cast<int>(message.size()), message.data());
  return kExitUsage;
}

// The listeners' credentials: TLS from the configured files, or null for
// plaintext after checking every address may have it (unix: sockets and
// loopback always; anything else only with --insecure). With TLS every
// client is asked for a certificate, which the access layer verifies
// (agents' against `agent_ca_pem`) so that a bad one is refused with a
// reason rather than a failed handshake.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeCredentials(
    const pyservice::controller::ControllerConfig& config, const std::string& agent_ca_pem) {
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key go together: give both or neither");
  }
  if (!config.client_ca.empty()) {
    return absl::InvalidArgumentError(
        "--client-ca is gone: agents enroll for a certificate from the controller's own CA "
        "(pyctl host enroll-token), and operators use tokens (docs/SECURITY.md)");
  }
  if (config.tls_cert.empty()) {
    for (const std::string& address : config.listen) {
      if (absl::Status allowed =
              pyservice::tls::CheckPlaintextAllowed(address, config.insecure);
          !allowed.ok()) {
        return allowed;
      }
    }
    return std::shared_ptr<grpc::ServerCredentials>();
  }
  pyservice::tls::TlsServerOptions tls;
  tls.cert_file = config.tls_cert;
  tls.key_file = config.tls_key;
  tls.application_verifies_client_certs = true;
  tls.client_ca_pem = agent_ca_pem;
  return pyservice::tls::MakeServerCredentials(tls);
}

// The listeners as configured; services and credentials are the caller's.
pyservice::controller::ControllerServerOptions ServerOptions(
    const pyservice::controller::ControllerConfig& config) {
  pyservice::controller::ControllerServerOptions options;
  options.listen = config.listen;
  options.insecure = config.insecure;
  options.admin_socket = config.admin_socket;
  options.admin_socket_group = config.admin_socket_group;
  options.limits =
      pyservice::controller::WithKeepalive(config.keepalive_time, config.keepalive_timeout);
  return options;
}

// Where the controller's Store lives: "" (the SQLite store in the data
// dir) or etcd://HOST:PORT,... with --advertise, what followers name.
struct StoreFlags {
  std::string store;
  std::string advertise;
};

// The CA dir: --ca-dir, else the data dir's.
std::string CaDir(const pyservice::controller::ControllerConfig& config) {
  return config.ca_dir.empty() ? config.data_dir + "/ca" : config.ca_dir;
}

// Everything after the store: access, the fleet, the services and the
// server, until `shutdown` is notified. `access_store` is the data dir's
// SQLite store, or the etcd store (the same object as `store`) on etcd;
// `ca` the agents' CA, loaded from `ca_origin`.
int RunController(const pyservice::controller::ControllerConfig& config,
                  pyservice::controller::Store& store,
                  pyservice::controller::AccessStore& access_store,
                  std::unique_ptr<pyservice::tls::CertificateAuthority> ca,
                  const std::string& ca_origin, const pyservice::Clock& clock,
                  const pyservice::spec::SecretFingerprinter& fingerprints,
                  absl::Notification& shutdown) {
  using namespace pyservice::controller;
  absl::StatusOr<std::unique_ptr<auth::AccessControl>> access = auth::AccessControl::Create(
      access_store, std::move(ca), clock, {.insecure_agents = config.insecure_agents});
  if (!access.ok()) {
    spdlog::error("{}", std::string(access.status().message()));
    return kExitCannotStart;
  }
  // A TLS mistake is a configuration error.
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeCredentials(config, (*access)->ca_certificate_pem());
  if (!credentials.ok()) {
    spdlog::error("{}", std::string(credentials.status().message()));
    return kExitUsage;
  }
  if (*credentials == nullptr) {
    spdlog::info("transport: plaintext (no --tls-cert)");
  } else {
    spdlog::info("transport: TLS with {}; agents' certificates from {}", config.tls_cert,
                 ca_origin);
  }
  if (config.insecure_agents) {
    spdlog::warn(
        "--insecure-agents: agents may connect without a certificate and claim any host "
        "name and labels; use only for development");
  }
  const auth::Guard& guard = (*access)->guard();

  pyservice::metrics::Registry metrics_registry;
  absl::StatusOr<std::unique_ptr<fleet::FleetMetrics>> fleet_metrics =
      fleet::FleetMetrics::Register(metrics_registry);
  if (!fleet_metrics.ok()) {
    spdlog::error("{}", std::string(fleet_metrics.status().message()));
    return kExitCannotStart;
  }
  fleet::FleetOptions fleet_options;
  fleet_options.metrics = fleet_metrics->get();
  fleet_options.heartbeat_interval = config.heartbeat_interval;
  fleet_options.wave_timeout = config.wave_timeout;
  absl::StatusOr<std::unique_ptr<fleet::Fleet>> fleet =
      fleet::Fleet::Create(store, clock, fleet_options);
  if (!fleet.ok()) {
    spdlog::error("cannot load the fleet from the store: {}",
                  std::string(fleet.status().message()));
    return kExitCannotStart;
  }
  ControllerServiceImpl service(store, clock, **fleet, fingerprints, &(*access)->registry(),
                                config.spec_policy);
  auth::AuthorizedControllerService authorized_service(service, guard);
  fleet::AgentServiceImpl agent_service(**fleet, fleet::GuardedAgentGate(guard),
                                        &(*access)->registry());

  ControllerServerOptions options = ServerOptions(config);
  options.services = {&authorized_service};
  options.queue_services = {&agent_service};
  options.credentials = *credentials;
  options.local_peers = &(*access)->local_peers();
  absl::StatusOr<std::unique_ptr<ControllerServer>> server =
      ControllerServer::Start(options);
  if (!server.ok()) {
    spdlog::error("{}", std::string(server.status().message()));
    return kExitCannotStart;
  }
  for (const pyservice::ListenAddress& address : (*server)->bound_addresses()) {
    spdlog::info("listening on {}", address.ToString());
  }
  // The HTTP listener: the web dashboard (read-only, no authentication, so
  // loopback unless the operator says insecure).
  std::unique_ptr<pyservice::http::HttpServer> http;
  if (!config.http_listen.empty()) {
    if (absl::Status allowed = dashboard::CheckDashboardListen(config.http_listen,
                                                               config.insecure);
        !allowed.ok()) {
      spdlog::error("{}", std::string(allowed.message()));
      return kExitUsage;
    }
    pyservice::http::Routes routes;
    dashboard::AddDashboardRoutes(routes, store, **fleet);
    pyservice::http::HttpServerOptions http_options;
    http_options.listen = config.http_listen;
    absl::StatusOr<std::unique_ptr<pyservice::http::HttpServer>> started =
        pyservice::http::HttpServer::Start(http_options, std::move(routes));
    if (!started.ok()) {
      spdlog::error("http_listen: {}", std::string(started.status().message()));
      return kExitCannotStart;
    }
    http = *std::move(started);
    spdlog::info("dashboard on http://{}/", http->address());
  }
  if (!config.admin_socket.empty()) {
    spdlog::info("admin socket on unix:{} ({})", config.admin_socket,
                 config.admin_socket_group.empty()
                     ? std::string("root only")
                     : "root, and group " + config.admin_socket_group + " with a token");
  }
  std::unique_ptr<pyservice::http::HttpServer> metrics_server;
  if (absl::Status added = fleet::AddFleetStateMetrics(metrics_registry, **fleet, store);
      !added.ok()) {
    spdlog::error("{}", std::string(added.message()));
    return kExitCannotStart;
  }
  if (!config.metrics_listen.empty()) {
    absl::StatusOr<std::unique_ptr<pyservice::http::HttpServer>> started =
        pyservice::metrics::StartMetricsServer(config.metrics_listen, metrics_registry);
    if (absl::IsInvalidArgument(started.status())) {
      spdlog::error("metrics.listen: {}", std::string(started.status().message()));
      return kExitUsage;
    }
    // Metrics must never keep the fleet from being served: a busy port is
    // logged, not fatal.
    if (!started.ok()) {
      spdlog::error("metrics endpoint off: {}", std::string(started.status().message()));
    } else {
      metrics_server = *std::move(started);
      spdlog::info("metrics on {}", metrics_server->address());
    }
  }
  // Type=notify: systemd considers the controller started once it listens.
  if (absl::Status notified = pyservice::NotifyServiceManager("READY=1"); !notified.ok()) {
    spdlog::warn("sd_notify: {}", std::string(notified.message()));
  }

  shutdown.WaitForNotification();
  (void)pyservice::NotifyServiceManager("STOPPING=1");
  // Agent streams and watchers never end by themselves: close them first,
  // so the server's graceful shutdown only waits for short calls.
  // The fleet's shutdown also ends the dashboard's event streams.
  if (metrics_server != nullptr) metrics_server->Stop();
  (*fleet)->Shutdown();
  if (http) http->Stop();
  (*server)->Shutdown();
  return 0;
}

// On an etcd store: campaign (serving refusals meanwhile), then lead until
// stopped. A leader that loses its lease exits at once (kExitLostLeadership)
// rather than run on next to its successor; its service manager restarts
// it as a follower.
int ServeOnEtcd(const pyservice::controller::ControllerConfig& config, const StoreFlags& flags,
                const pyservice::Clock& clock,
                const pyservice::controller::SpecSealer& sealer,
                const pyservice::spec::SecretFingerprinter& fingerprints,
                absl::Notification& shutdown) {
  using namespace pyservice::controller;
  absl::StatusOr<std::vector<std::string>> endpoints = etcd::ParseEtcdUrl(flags.store);
  if (!endpoints.ok()) {
    spdlog::error("--store: {}", std::string(endpoints.status().message()));
    return kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<etcd::EtcdClient>> client = etcd::EtcdClient::Create(*endpoints);
  if (!client.ok()) {
    spdlog::error("--store: {}", std::string(client.status().message()));
    return kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<EtcdStore>> store = EtcdStore::Open(**client, clock, sealer);
  if (!store.ok()) {
    spdlog::error("cannot use the etcd store {}: {}", flags.store,
                  std::string(store.status().message()));
    return kExitCannotStart;
  }
  etcd::LeaderElectionOptions election_options;
  election_options.key = EtcdStore::kDefaultLeaderKey;
  election_options.identity = flags.advertise.empty() ? config.listen.front() : flags.advertise;
  spdlog::info("store: etcd {}; campaigning for leadership as {}", flags.store,
               election_options.identity);
  // A follower serves its refusals over the same transport as the leader
  // would; it asks for no client certificate (it answers nobody's calls).
  ControllerServerOptions follower = ServerOptions(config);
  if (!config.tls_cert.empty() || !config.tls_key.empty()) {
    pyservice::tls::TlsServerOptions tls;
    tls.cert_file = config.tls_cert;
    tls.key_file = config.tls_key;
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        pyservice::tls::MakeServerCredentials(tls);
    if (!credentials.ok()) {
      spdlog::error("{}", std::string(credentials.status().message()));
      return kExitUsage;
    }
    follower.credentials = *credentials;
  }
  absl::StatusOr<std::unique_ptr<etcd::LeaderElection>> election =
      etcd::WaitForLeadership(**client, election_options, follower, shutdown);
  if (!election.ok()) {
    if (absl::IsCancelled(election.status())) return 0;
    spdlog::error("{}", std::string(election.status().message()));
    return kExitCannotStart;
  }
  (*store)->SetLeaderFence(election_options.key, (*election)->create_revision());
  (*election)->KeepLeading([](const std::string& why) {
    spdlog::critical("lost leadership: {}; exiting so that only the new leader acts", why);
    spdlog::default_logger()->flush();
    _exit(kExitLostLeadership);
  });
  // Only now, leading: the access state and the CA are read after every
  // write of the previous leader (whose fence ended before ours began).
  absl::StatusOr<std::unique_ptr<pyservice::tls::CertificateAuthority>> ca =
      etcd::LoadOrCreateEtcdAgentCa(
          **store, {.ca_dir = CaDir(config), .ca_dir_given = !config.ca_dir.empty()}, clock);
  if (!ca.ok()) {
    spdlog::error("{}", std::string(ca.status().message()));
    (*election)->Resign();
    return kExitCannotStart;
  }
  const int status = RunController(config, **store, **store, *std::move(ca),
                                   "the agents' CA in etcd", clock, fingerprints, shutdown);
  // A clean stop hands over at once instead of after the lease's ttl.
  (*election)->Resign();
  return status;
}

int Serve(const pyservice::controller::ControllerConfig& config, const StoreFlags& flags) {
  using namespace pyservice::controller;
  // Before the store: what the store holds is sealed with it.
  absl::StatusOr<SecretKeys> keys =
      LoadOrCreateSecretsKey(config.secrets_key_file, config.data_dir);
  if (!keys.ok()) {
    spdlog::error("{}", std::string(keys.status().message()));
    return kExitCannotStart;
  }
  const pyservice::SystemClock clock;
  spdlog::info("starting; data dir {}, secrets key file {}", config.data_dir,
               config.secrets_key_file);
  const pyservice::spec::SecretFingerprinter fingerprints(keys->fingerprint);
  const AesGcmSpecSealer sealer(*keys, config.secrets_key_file);
  // Stop signals are taken by a thread of their own, so a controller that
  // is still campaigning stops as promptly as a leader.
  absl::Notification shutdown;
  std::thread signals([&shutdown] {
    const int signal_number = WaitForShutdownSignal();
    ExitOnSecondShutdownSignal();
    spdlog::info("received SIG{}, stopping", sigabbrev_np(signal_number));
    shutdown.Notify();
  });
  signals.detach();

  int status = 0;
  if (flags.store.empty()) {
    // The data dir's store. On etcd it is not used: etcd holds the access
    // state too (docs/DESIGN.md, "High availability").
    absl::StatusOr<std::unique_ptr<SqliteStore>> local =
        SqliteStore::Open(config.data_dir, clock, sealer, KeyDigestOf(fingerprints));
    if (!local.ok()) {
      spdlog::error("cannot use data dir {}: {}{}", config.data_dir,
                    std::string(local.status().message()),
                    InterruptedRotationHint(config.secrets_key_file));
      return kExitCannotStart;
    }
    const std::string ca_dir = CaDir(config);
    absl::StatusOr<std::unique_ptr<pyservice::tls::CertificateAuthority>> ca =
        pyservice::tls::CertificateAuthority::LoadOrCreate(ca_dir, "pyservice agents", clock);
    if (!ca.ok()) {
      spdlog::error("the CA in {}: {}", ca_dir, std::string(ca.status().message()));
      return kExitCannotStart;
    }
    status = RunController(config, **local, **local, *std::move(ca),
                           absl::StrCat("the CA in ", ca_dir), clock, fingerprints, shutdown);
  } else {
    // etcd may hold values of both keys: only the rotation opens both.
    if (const std::string hint = InterruptedRotationHint(config.secrets_key_file);
        !hint.empty()) {
      spdlog::error("cannot start on the etcd store {} with the secrets key file {}{}",
                    flags.store, config.secrets_key_file, hint);
      return kExitCannotStart;
    }
    status = ServeOnEtcd(config, flags, clock, sealer, fingerprints, shutdown);
  }
  if (status == 0) spdlog::info("stopped");
  return status;
}

int RunInitSecretsKey(const pyservice::controller::ControllerConfig& config) {
  absl::StatusOr<pyservice::controller::SecretKeys> keys =
      pyservice::controller::LoadOrCreateSecretsKey(config.secrets_key_file, config.data_dir);
  if (!keys.ok()) {
    spdlog::error("{}", std::string(keys.status().message()));
    return kExitCannotStart;
  }
  spdlog::info("secrets key file {} is ready", config.secrets_key_file);
  return 0;
}

int RunRotateSecretsKey(const pyservice::controller::ControllerConfig& config,
                        const StoreFlags& flags) {
  using namespace pyservice::controller;
  const pyservice::SystemClock clock;
  absl::StatusOr<KeyRotation> rotated;
  if (flags.store.empty()) {
    rotated = RotateSecretsKey(config.secrets_key_file, config.data_dir, clock);
  } else {
    absl::StatusOr<std::vector<std::string>> endpoints = etcd::ParseEtcdUrl(flags.store);
    if (!endpoints.ok()) return UsageError(absl::StrCat("--store: ", endpoints.status().message()));
    absl::StatusOr<std::unique_ptr<etcd::EtcdClient>> client =
        etcd::EtcdClient::Create(*endpoints);
    if (!client.ok()) return UsageError(absl::StrCat("--store: ", client.status().message()));
    rotated = RotateSecretsKeyOnEtcd(config.secrets_key_file, config.data_dir, **client, clock);
  }
  if (!rotated.ok()) {
    spdlog::error("{}", std::string(rotated.status().message()));
    return kExitCannotStart;
  }
  spdlog::warn(
      "sealed {} stored spec(s) with a new secrets key, now in {}: back it up now{}. The old key "
      "is in {}: keep it with the backups taken before now, which only it opens",
      rotated->specs, config.secrets_key_file,
      flags.store.empty() ? "" : ", and copy it to every controller of the cluster before "
                                 "starting them",
      rotated->previous_key_file);
  return 0;
}

int RunMigrate(const pyservice::controller::ControllerConfig& config, const std::string& from,
               const std::string& to) {
  using namespace pyservice::controller;
  absl::string_view from_dir = from;
  if (!absl::ConsumePrefix(&from_dir, "sqlite:") || from_dir.empty()) {
    return UsageError(absl::StrCat("migrate --from \"", from, "\": give sqlite:DATA_DIR"));
  }
  absl::StatusOr<std::vector<std::string>> endpoints = etcd::ParseEtcdUrl(to);
  if (!endpoints.ok()) {
    return UsageError(absl::StrCat("migrate --to: ", endpoints.status().message()));
  }
  absl::StatusOr<SecretKeys> keys =
      LoadOrCreateSecretsKey(config.secrets_key_file, std::string(from_dir));
  if (!keys.ok()) {
    spdlog::error("{}", std::string(keys.status().message()));
    return kExitCannotStart;
  }
  const pyservice::SystemClock clock;
  const pyservice::spec::SecretFingerprinter fingerprints(keys->fingerprint);
  const AesGcmSpecSealer sealer(*keys, config.secrets_key_file);
  absl::StatusOr<std::unique_ptr<SqliteStore>> source =
      SqliteStore::Open(std::string(from_dir), clock, sealer, KeyDigestOf(fingerprints));
  if (!source.ok()) {
    spdlog::error("cannot open {}: {}", from, std::string(source.status().message()));
    return kExitCannotStart;
  }
  absl::StatusOr<std::unique_ptr<etcd::EtcdClient>> client = etcd::EtcdClient::Create(*endpoints);
  if (!client.ok()) return UsageError(client.status().message());
  absl::StatusOr<std::unique_ptr<EtcdStore>> target = EtcdStore::Open(**client, clock, sealer);
  if (!target.ok()) {
    spdlog::error("cannot use {}: {}", to, std::string(target.status().message()));
    return kExitCannotStart;
  }
  // The source's CA: --ca-dir, else the source data dir's ca/.
  const std::string ca_dir =
      config.ca_dir.empty() ? absl::StrCat(from_dir, "/ca") : config.ca_dir;
  absl::StatusOr<MigrationCounts> copied = MigrateSqliteToEtcd(**source, ca_dir, **target);
  if (!copied.ok()) {
    spdlog::error("migrate {} -> {}: {}", from, to, std::string(copied.status().message()));
    return kExitCannotStart;
  }
  spdlog::info("copied {} app(s) with {} revision(s), {} rollout(s) and {} host(s) from {} to {}",
               copied->apps, copied->revisions, copied->rollouts, copied->hosts, from, to);
  spdlog::info("copied {} operator token(s), {} enrollment token(s), {} enrolled host(s) and {} "
               "certificate(s); the agents' CA: {}",
               copied->tokens, copied->enrollment_tokens, copied->enrolled_hosts,
               copied->certificates,
               copied->ca ? absl::StrCat("copied from ", ca_dir)
                          : absl::StrCat("none in ", ca_dir, " (the first leader creates one)"));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // First, before any thread exists: see shutdown_signals.h.
  pyservice::controller::BlockShutdownSignals();
#ifdef NDEBUG
  // Debian's libabsl is built without NDEBUG, so absl::Mutex keeps its
  // deadlock-detection graph on in every program: each lock of a mutex
  // looks it up under a global lock. With two mutexes per agent session
  // that was the controller's top CPU cost at 5,000+ hosts
  // (docs/BENCHMARKS.md). Release builds turn it off; debug builds keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif

  CLI::App app{"pyservice-controller: stores app revisions and drives "
               "rollouts; pyctl and agents talk to it over gRPC."};
  app.name("pyservice-controller");  // not argv[0]: the man page and completion name it
  std::string config_path;
  std::vector<std::string> listen;
  std::string data_dir;
  std::string log_level;
  std::string tls_cert, tls_key, client_ca;
  std::string admin_socket, admin_socket_group, ca_dir;
  std::string secrets_key_file;
  bool insecure = false;
  bool insecure_agents = false;
  std::string metrics_listen;
  StoreFlags store_flags;
  app.add_option("--config", config_path,
                 "YAML file with keys listen, data_dir, log_level, "
                 "heartbeat_interval, wave_timeout, keepalive_time, keepalive_timeout, "
                 "tls_cert, tls_key, insecure, "
                 "insecure_agents, admin_socket, admin_socket_group, ca_dir, "
                 "secrets_key_file, spec_policy, http_listen, metrics; flags override it")
      ->type_name("FILE");
  app.add_option("--listen", listen,
                 "HOST:PORT or unix:/absolute/path; repeat for several "
                 "(default 127.0.0.1:7070)")
      ->type_name("ADDR")
      ->allow_extra_args(false)  // one address per --listen
      ->check(CLI::Validator(
          [](std::string& address) {
            const auto parsed =
                pyservice::ParseListenAddress(address);
            return parsed.ok() ? std::string()
                               : std::string(parsed.status().message());
          },
          "", "listen address"));
  app.add_option("--data-dir", data_dir,
                 "directory of the SQLite store, created if missing "
                 "(default /var/lib/pyservice-controller)")
      ->type_name("DIR");
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error (default info)")
      ->type_name("LEVEL");
  app.add_option("--tls-cert", tls_cert,
                 "server certificate (PEM): serve TLS on every listener")
      ->type_name("FILE");
  app.add_option("--tls-key", tls_key, "the server certificate's key (PEM)")
      ->type_name("FILE");
  app.add_option("--client-ca", client_ca,
                 "removed: agents enroll with the controller's own CA (--ca-dir)")
      ->type_name("FILE");
  app.add_option("--admin-socket", admin_socket,
                 "Unix socket (0600) where local root is an admin without a token")
      ->type_name("PATH");
  app.add_option("--admin-socket-group", admin_socket_group,
                 "group that may open the admin socket (0660); its members need a token")
      ->type_name("GROUP");
  app.add_option("--ca-dir", ca_dir,
                 "the controller's CA for agent certificates, created on first start "
                 "(default DATA_DIR/ca); with --store etcd://, imported into etcd once when "
                 "etcd has no CA yet")
      ->type_name("DIR");
  app.add_flag("--insecure-agents", insecure_agents,
               "accept agents without a certificate and trust their Hello (development "
               "only; logs a warning)");
  app.add_option("--secrets-key-file", secrets_key_file,
                 "key stored specs are encrypted with, outside the data dir; created "
                 "(mode 0600) if missing: back it up (default " +
                     std::string(pyservice::controller::kDefaultSecretsKeyFile) + ")")
      ->type_name("FILE");
  CLI::Option* metrics_listen_option =
      app.add_option("--metrics-listen", metrics_listen,
                     "HOST:PORT serving GET /metrics for Prometheus; \"\" turns it off "
                     "(default 127.0.0.1:9464)")
          ->type_name("ADDR");
  app.add_option("--store", store_flags.store,
                 "etcd://HOST:PORT[,HOST:PORT...]: keep apps, revisions, hosts, rollouts, the "
                 "access state and the agents' CA in etcd and run as one of several "
                 "controllers, one leading (default: the SQLite store in the data dir)")
      ->type_name("URL");
  app.add_option("--advertise", store_flags.advertise,
                 "with an etcd store: the address of this controller that followers name to "
                 "clients (default: the first --listen)")
      ->type_name("ADDR");
  app.add_flag("--insecure", insecure,
               "allow plaintext on non-loopback TCP addresses (logs a "
               "warning)");
  // For installs where the controller may not write its key itself (the
  // systemd unit reads a root-owned copy): the same creation, then exit.
  CLI::App* init_key = app.add_subcommand(
      "init-secrets-key",
      "create the secrets key file if it is missing (mode 0600), then exit");
  init_key->fallthrough();  // the options above may follow it
  CLI::App* rotate_key = app.add_subcommand(
      "rotate-secrets-key",
      "with the controller (on --store etcd://, every controller) stopped: seal every stored "
      "spec (on etcd also the agents' CA key) with a new secrets key, which replaces the key "
      "file (the old one is kept as FILE.previous), then exit");
  rotate_key->fallthrough();
  pyservice::cli_docs::DocsCommands docs;
  pyservice::cli_docs::AddDocsCommands(app, docs);
  std::string migrate_from, migrate_to;
  CLI::App* migrate = app.add_subcommand(
      "migrate", "with the controllers stopped: copy a SQLite store's apps, revisions, hosts "
                 "and rollouts into an empty etcd store, then exit");
  migrate->fallthrough();
  migrate->add_option("--from", migrate_from, "sqlite:DATA_DIR, the store to copy")
      ->type_name("sqlite:DIR")
      ->required();
  migrate->add_option("--to", migrate_to, "etcd://HOST:PORT[,HOST:PORT...], empty")
      ->type_name("URL")
      ->required();
  // CLI11 reports usage errors by exception; this is the boundary.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    return UsageError(e.what());
  }
  if (std::optional<int> done = pyservice::cli_docs::RunDocsCommand(
          app, docs, pyservice::controller::ControllerManPage(), std::cout)) {
    return *done;
  }

  pyservice::controller::ControllerConfig config;
  if (!config_path.empty()) {
    absl::StatusOr<pyservice::controller::ControllerConfig> loaded =
        pyservice::controller::LoadControllerConfig(config_path, config);
    if (!loaded.ok()) return UsageError(loaded.status().message());
    config = *std::move(loaded);
  }
  if (!listen.empty()) config.listen = listen;
  if (!data_dir.empty()) config.data_dir = data_dir;
  if (!log_level.empty()) config.log_level = log_level;
  if (!tls_cert.empty()) config.tls_cert = tls_cert;
  if (!tls_key.empty()) config.tls_key = tls_key;
  if (!client_ca.empty()) config.client_ca = client_ca;
  if (!secrets_key_file.empty()) config.secrets_key_file = secrets_key_file;
  if (insecure) config.insecure = true;
  if (!admin_socket.empty()) config.admin_socket = admin_socket;
  if (!admin_socket_group.empty()) config.admin_socket_group = admin_socket_group;
  if (!ca_dir.empty()) config.ca_dir = ca_dir;
  if (insecure_agents) config.insecure_agents = true;
  if (metrics_listen_option->count() > 0) config.metrics_listen = metrics_listen;

  if (absl::Status status = pyservice::SetUpLogging(kProgram, config.log_level);
      !status.ok()) {
    return UsageError(status.message());
  }
  if (*init_key) return RunInitSecretsKey(config);
  if (*rotate_key) return RunRotateSecretsKey(config, store_flags);
  if (*migrate) return RunMigrate(config, migrate_from, migrate_to);
  if (!store_flags.store.empty() && !absl::StartsWith(store_flags.store, "etcd://")) {
    return UsageError("--store: give etcd://HOST:PORT[,HOST:PORT...] (the SQLite store in "
                      "--data-dir is the default)");
  }
  return Serve(config, store_flags);
}
