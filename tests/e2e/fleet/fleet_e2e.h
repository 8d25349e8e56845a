// The harness shared by the fleet end-to-end suites (fleet_e2e_test,
// rollout_e2e_test): the real pyservice-controller on this machine,
// serving TLS on a Unix socket (server certificate from
// deploy/tls/make-test-ca.sh) and its admin socket; N real systemd test
// hosts (each with its own network namespace) running the real
// pyservice-agent installed from deploy/systemd/pyservice-agent.service and
// dialing the controller over the socket's directory bound into the host;
// the real pyctl binary, root on the admin socket.
//
// Every host enrolls as an operator would enroll it: `pyctl host
// enroll-token NAME --label ...` written into the host as an owner-only
// file the agent's config names (enrollment_token_file), with make-test-ca's
// CA as its tls_ca; the agent then connects with the certificate the
// controller's own CA issued it, and its labels are the token's.
//
// E2eFleet is that set-up as one object; FleetE2eFixture keeps one per test
// binary run (hosts take seconds to boot, so SetUpTestSuite boots them once)
// and gives the tests short static helpers over it.
#ifndef PYSERVICE_TESTS_E2E_FLEET_FLEET_E2E_H_
#define PYSERVICE_TESTS_E2E_FLEET_FLEET_E2E_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/process/subprocess.h"
#include "gtest/gtest.h"
#include "tests/e2e/testing/test_host.h"
#include "tests/testing/child_process.h"
#include "tests/testing/json.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::testing {

// The hello app of tests/e2e/agent/hello_app.h as both suites deploy it.
inline constexpr char kAppUnit[] = "hello-web.service";
inline constexpr char kAgentUnit[] = "pyservice-agent.service";
inline constexpr int kPort = 8000;
// The app file: hello v1 from /srv/git/hello.git on every host labelled
// role=web, healthy after 2 s of answering /healthz on kPort.
std::string HelloAppYaml();

// Polls `condition` every `interval` until it holds (true) or `timeout`
// passes (false). The fleet is observed from outside, so every wait is one.
template <typename Condition>
bool Eventually(Condition condition, absl::Duration timeout,
                absl::Duration interval = absl::Milliseconds(250)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(interval);
  }
}

// A scalar member of a JSON object as text ("true"/"false" for booleans);
// "" when absent or `object` is not an object, so a malformed answer fails
// the comparison rather than the test binary.
std::string Field(const JsonValue& object, const std::string& key);
// A member of a JSON object, or nullptr.
const JsonValue* Member(const JsonValue& object, const std::string& key);
// The active_state of `unit` in a host object of `pyctl status -o json`.
std::string UnitState(const JsonValue& host, const std::string& unit = kAppUnit);
// The last `lines` lines of `text`.
std::string Tail(const std::string& text, int lines);
// A finished command with its output, for failure messages.
std::string Describe(const ProcessResult& result);

struct FleetOptions {
  std::vector<std::string> host_names;  // one test host each
  // Every host's labels, K=V: bound by its enrollment token (agents cannot
  // choose their own).
  std::vector<std::string> labels = {"role=web"};
  // The controller's heartbeat_interval: short, so lost hosts show quickly.
  std::string heartbeat = "1s";
  std::string git_dir;  // bound at /srv/git in every host (the app's repo)
  std::string app_yaml;  // written to app_yaml_path()
  // Appended to every agent's config file (agent.yaml), e.g.
  // "drift_check_interval: 2s\n".
  std::string agent_config_extra;
  // How much of each log Diagnostics() shows.
  int controller_log_lines = 40;
  int agent_journal_lines = 60;
};

class E2eFleet {
 public:
  // Starts the controller, boots the hosts and starts their agents. Never
  // null; when something failed, error() says what (and the fleet holds
  // what did start, cleaned up by the destructor).
  static std::unique_ptr<E2eFleet> Start(FleetOptions options);
  // Stops the hosts, then the controller.
  ~E2eFleet();

  const std::string& error() const { return error_; }
  int size() const { return static_cast<int>(hosts_.size()); }
  const std::string& HostName(int i) const { return options_.host_names[i]; }
  TestHost& Host(int i) { return *hosts_[i]; }
  const std::string& app_yaml_path() const { return app_yaml_path_; }
  // The controller's data dir (its store, and its CA in ca/).
  std::string data_dir() const { return dir_.Join("data"); }

  // The controller: started on the same config, data dir and socket each
  // time, so a restart finds its store and the agents reconnect by
  // themselves.
  ChildProcess& controller() { return *controller_; }
  absl::Status StartController();
  // SIGTERM (a clean stop) or SIGKILL (a crash), then reaped.
  absl::StatusOr<ExitStatus> StopController(absl::Duration timeout = absl::Seconds(20));
  absl::StatusOr<ExitStatus> KillController(absl::Duration timeout = absl::Seconds(10));

  // pyctl ARGS against the controller's admin socket (root there is an
  // admin: no token), killed after `timeout_seconds`. No PYCTL_ variable of
  // ours reaches it.
  ProcessResult Pyctl(std::vector<std::string> args, int timeout_seconds = 30);
  // The same pyctl left running (`logs -f`, `events -f`), its output in
  // files read while it runs; `name` names them. Killed when destroyed.
  absl::StatusOr<std::unique_ptr<ChildProcess>> StartPyctl(std::vector<std::string> args,
                                                           const std::string& name);
  // `pyctl status APP -o json` as host -> its object; empty on failure.
  std::map<std::string, JsonValue> StatusByHost(const std::string& app,
                                                std::string* raw = nullptr);
  // `pyctl get hosts -o json`: name -> connected ("true"/"false").
  std::map<std::string, std::string> Connected(std::string* raw = nullptr);
  bool AllConnected();

  // The app's HTTP answer on host i (curl inside the host's namespace).
  absl::StatusOr<std::string> HttpGet(int i);
  // `systemctl show --value -p PROPERTY UNIT` on host i (the error text on
  // failure, which never equals a real value).
  std::string ShowUnit(int i, const std::string& property, const std::string& unit = kAppUnit);
  std::string Journal(int i, const std::string& unit, int lines);
  // The controller's stderr and every agent's journal, for failure messages.
  std::string Diagnostics();

 private:
  explicit E2eFleet(FleetOptions options) : options_(std::move(options)) {}
  absl::Status Boot();
  absl::Status InstallAgent(int i, const std::string& unit_file);
  // pyctl's argv (ARGS then --controller) and environment (ours without
  // PYCTL_ variables).
  std::vector<std::string> PyctlArgv(std::vector<std::string> args) const;
  static std::vector<std::string> PyctlEnv();

  FleetOptions options_;
  TempDir dir_;
  std::string run_dir_;  // the controller's socket; /run/pyservice in hosts
  // The admin socket, outside run_dir_: root in a host must not be an admin.
  std::string admin_socket_;
  std::string tls_dir_;  // make-test-ca.sh's CA and server certificate
  std::string ca_pem_;   // tls_dir_'s ca.crt: each agent's tls_ca
  std::string config_;   // the controller's config file
  std::string app_yaml_path_;
  std::unique_ptr<ChildProcess> controller_;
  int controller_starts_ = 0;  // names each start's log files
  std::vector<std::unique_ptr<TestHost>> hosts_;
  std::string error_;
};

// A test suite over one E2eFleet booted in SetUpTestSuite (call BootFleet
// there). Every test fails with the set-up error, if any: not skipped when
// this machine cannot boot test hosts (not root, no systemd-nspawn).
class FleetE2eFixture : public ::testing::Test {
 protected:
  // Builds the hello repository with `tags`, then starts the fleet.
  static void BootFleet(FleetOptions options, const std::vector<std::string>& tags);
  static void TearDownTestSuite();
  void SetUp() override;

  static E2eFleet& fleet() { return *fleet_; }
  static TestHost& Host(int i) { return fleet_->Host(i); }
  static ProcessResult Pyctl(std::vector<std::string> args, int timeout_seconds = 30) {
    return fleet_->Pyctl(std::move(args), timeout_seconds);
  }
  static absl::StatusOr<std::unique_ptr<ChildProcess>> StartPyctl(std::vector<std::string> args,
                                                                  const std::string& name) {
    return fleet_->StartPyctl(std::move(args), name);
  }
  static std::map<std::string, std::string> Connected(std::string* raw = nullptr) {
    return fleet_->Connected(raw);
  }
  static bool AllConnected() { return fleet_->AllConnected(); }
  static absl::StatusOr<std::string> HttpGet(int i) { return fleet_->HttpGet(i); }
  static std::string ShowUnit(int i, const std::string& property) {
    return fleet_->ShowUnit(i, property);
  }
  static std::string Diagnostics() { return fleet_->Diagnostics(); }

 private:
  static E2eFleet* fleet_;
  static std::string* setup_error_;  // set when the fleet was not even started
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_E2E_FLEET_FLEET_E2E_H_
