// The daemon's settings: built-in defaults, overlaid by the --config YAML
// file, overlaid by command-line flags (main.cc does the last step).
//
// The file has exactly these keys, all optional:
//   controller: unix:/run/pyservice/controller.sock   # or HOST:PORT
//   host: web-1                 # default: the machine's hostname
//   labels: {role: web, zone: a}
//   state_dir: /var/lib/pyservice-agent
//   pip_options: [--no-index, --find-links, /srv/wheels]
//   log_level: info
//   tls_ca: /etc/pyservice/tls/ca.crt     # TLS: the controller's CA
//   tls_cert: /etc/pyservice/tls/web-1.crt  # mutual TLS: this host's
//   tls_key: /etc/pyservice/tls/web-1.key   #   certificate and key
//   tls_server_name: controller.example   # verify the controller as this
//   enrollment_token_file: /etc/pyservice/enroll.token  # first start: enroll
//   insecure: false      # allow plaintext to a non-loopback TCP controller
//   spec_policy: {allow_users: [postgres], allow_groups: [ssl-cert]}  # this host's exceptions
//   timeouts:            # child processes are killed after these
//     fetch: 10m         #   one git fetch
//     environment: 15m   #   each uv / pip / python -m venv command
//     user: 1m           #   each groupadd / useradd / usermod
//   keepalive_time: 1m     # ping the controller after this long quiet...
//   keepalive_timeout: 20s # ...and reconnect when the ping is not answered
//   drift_check_interval: 1m  # look for hand edits of what was installed; 0s: never
// Anything else is an error with its location (FILE:LINE:COL), like
// app.yaml errors, so a misspelt key never silently falls back to a default.
#ifndef PYSERVICE_AGENT_CONFIG_AGENT_CONFIG_H_
#define PYSERVICE_AGENT_CONFIG_AGENT_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/spec/spec_policy.h"

namespace pyservice::agent {

struct AgentConfig {
  // The controller's address; empty when none was given.
  std::string controller;
  // The host's name for the controller; empty: the machine's hostname.
  std::string host;
  std::map<std::string, std::string> labels;
  std::string state_dir = "/var/lib/pyservice-agent";
  std::vector<std::string> pip_options;
  std::string log_level = "info";
  // Transport security: the CA the controller's certificate must chain to
  // (empty: plaintext, refused to non-loopback TCP addresses unless
  // `insecure`), this host's client certificate and key for mutual TLS
  // (both or neither), and a name to verify the controller's certificate
  // against instead of the address's host.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
  // A file holding a single-use enrollment token (pyctl host enroll-token):
  // with tls_ca and no tls_cert/tls_key, the host trades it for its
  // certificate at its first start (agent/enroll/). Empty: none. The token
  // itself is never a setting: settings end up in argv and logs.
  std::string enrollment_token_file;
  bool insecure = false;
  // This host's admin's exceptions to the spec policy every deploy is
  // checked against before any step (common/spec/spec_policy.h).
  spec::SpecPolicy spec_policy;
  // Deadlines of the child processes a deploy runs; on one, the process and
  // everything it started are killed and the step fails naming the command.
  struct Timeouts {
    absl::Duration fetch = absl::Minutes(10);
    absl::Duration environment = absl::Minutes(15);
    absl::Duration user = absl::Minutes(1);
  };
  Timeouts timeouts;
  // The agent pings the controller when the connection has been quiet for
  // keepalive_time and dials again when no answer comes within
  // keepalive_timeout, so a controller that vanished silently is noticed
  // in bounded time. Not below the controller's permitted ping interval
  // (10s, or its keepalive_time if lower), or it is sent GOAWAY.
  absl::Duration keepalive_time = absl::Minutes(1);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // How often the daemon compares what it installed for each app with the
  // host (agent/drift/); zero: never.
  absl::Duration drift_check_interval = absl::Minutes(1);
  // Where GET /metrics (Prometheus) is served in daemon mode, HOST:PORT; ""
  // for nowhere. Loopback by default, next to the controller's 9464.
  std::string metrics_listen = "127.0.0.1:9465";
};

// Parses a config document over `base`: each key present replaces base's
// value, except `labels`, which are added to (and override) base's.
// INVALID_ARGUMENT with one "SOURCE:LINE:COL: KEY: problem" line per
// problem.
absl::StatusOr<AgentConfig> ParseAgentConfig(absl::string_view yaml, absl::string_view source_name,
                                             AgentConfig base);

// Reads and parses the file at `path` (named as given in errors).
absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path, AgentConfig base);

// "K=V" of --label: the key and value, validated like targets.labels.
absl::StatusOr<std::pair<std::string, std::string>> ParseLabelFlag(absl::string_view flag);

// The machine's hostname (gethostname), for the default --host.
absl::StatusOr<std::string> MachineHostname();

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_CONFIG_AGENT_CONFIG_H_
