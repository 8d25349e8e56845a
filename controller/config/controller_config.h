// The controller's settings: built-in defaults, overlaid by the --config
// YAML file, overlaid by command-line flags (main.cc does the last step).
//
// The file has exactly these keys, all optional:
//   listen: [127.0.0.1:7070, unix:/run/pyservice/controller.sock]
//   data_dir: /var/lib/pyservice-controller
//   log_level: info
//   heartbeat_interval: 5s   # told to agents; a host silent 3x this is lost
//   wave_timeout: 30m        # a rollout wave not healthy by then fails
//   keepalive_time: 1m       # ping a connection quiet this long...
//   keepalive_timeout: 20s   # ...and drop it when the ping is not answered
//   tls_cert: /etc/pyservice/tls/server.crt   # TLS on every listener
//   tls_key: /etc/pyservice/tls/server.key
//   client_ca: /etc/pyservice/tls/ca.crt      # mutual TLS (needs tls_cert)
//   insecure: false          # allow plaintext on non-loopback TCP
//   admin_socket: /run/pyservice-controller/admin.sock  # local root is admin
//   admin_socket_group: pyservice-admins   # may open it (0660), with a token
//   ca_dir: /var/lib/pyservice-controller/ca  # the CA that certifies hosts
//   insecure_agents: false   # accept agents without a certificate (dev only)
//   secrets_key_file: /etc/pyservice-controller/secrets.key  # outside data_dir
//   spec_policy: {allow_users: [postgres], allow_groups: [ssl-cert]}  # apply's exceptions
//   http_listen: 127.0.0.1:7071   # the web dashboard (HTTP, no auth); "" off
//   metrics: {listen: 127.0.0.1:9464}   # GET /metrics; listen "" turns it off
// Anything else is an error with its location, like app.yaml errors, so a
// misspelt key never silently falls back to a default.
#ifndef PYSERVICE_CONTROLLER_CONFIG_CONTROLLER_CONFIG_H_
#define PYSERVICE_CONTROLLER_CONFIG_CONTROLLER_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/spec/spec_policy.h"
#include "controller/secrets/key_file.h"

namespace pyservice::controller {

struct ControllerConfig {
  // gRPC-form addresses (INTERFACES.md), at least one.
  std::vector<std::string> listen = {"127.0.0.1:7070"};
  // Where the SQLite store lives; created if missing.
  std::string data_dir = "/var/lib/pyservice-controller";
  // spdlog level name.
  std::string log_level = "info";
  // How often agents send heartbeats (Welcome.heartbeat_interval_ms); a
  // host silent for three intervals is flagged lost.
  absl::Duration heartbeat_interval = absl::Seconds(5);
  // A rollout wave not healthy this long after it started fails its gate.
  absl::Duration wave_timeout = absl::Minutes(30);
  // The controller pings a connection quiet for keepalive_time and drops it
  // when no answer comes within keepalive_timeout: a host whose connection
  // died silently is disconnected within their sum
  // (server/transport_limits.h).
  absl::Duration keepalive_time = absl::Minutes(1);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // Transport security (docs/DESIGN.md): the server certificate and key
  // (PEM; both or neither), and the CA client certificates must chain to
  // (mutual TLS: agents and pyctl must present one). Empty: plaintext,
  // which is refused on non-loopback TCP addresses unless `insecure`.
  std::string tls_cert;
  std::string tls_key;
  std::string client_ca;
  bool insecure = false;
  // docs/SECURITY.md. The admin socket's path ("" for none) and the group
  // that may open it ("" for root only).
  std::string admin_socket;
  std::string admin_socket_group;
  // The controller's own CA (ca.crt, ca.key), created on first start;
  // "" is DATA_DIR/ca. On an etcd store only imported into etcd once
  // (controller/etcd/etcd_agent_ca.h).
  std::string ca_dir;
  // Let agents connect without a certificate and believe their Hello's
  // host name and labels: for development and tests only.
  bool insecure_agents = false;
  // The key file stored specs are encrypted with and secrets fingerprinted
  // with (controller/secrets/key_file.h); created if missing. Never inside
  // data_dir: a copy of the data dir alone must reveal no secret.
  std::string secrets_key_file = kDefaultSecretsKeyFile;
  // The admin's exceptions to the spec policy every apply is checked
  // against (common/spec/spec_policy.h).
  spec::SpecPolicy spec_policy;
  // HOST:PORT of the HTTP listener with the web dashboard (controller/
  // dashboard/); "" (the default) for none. It has no authentication, so
  // a non-loopback host is refused unless `insecure`.
  std::string http_listen;
  // Where GET /metrics (Prometheus) is served, HOST:PORT; "" for nowhere.
  // Loopback by default: a local Prometheus or an SSH tunnel reaches it.
  std::string metrics_listen = "127.0.0.1:9464";
};

// Parses a config document over `base`: each key present replaces base's
// value (a `listen` list replaces the whole list). INVALID_ARGUMENT with one
// "SOURCE:LINE:COL: KEY: problem" line per problem.
absl::StatusOr<ControllerConfig> ParseControllerConfig(
    absl::string_view yaml, absl::string_view source_name,
    ControllerConfig base);

// Reads and parses the file at `path` (named as given in errors); errors
// of ReadFileToString (common/file/read_file.h) when it cannot be read.
absl::StatusOr<ControllerConfig> LoadControllerConfig(const std::string& path,
                                                      ControllerConfig base);

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_CONFIG_CONTROLLER_CONFIG_H_
