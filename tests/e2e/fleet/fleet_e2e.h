// The harness shared by the fleet end-to-end suites (fleet_e2e_test,
// rollout_e2e_test, ha_e2e_test): the real pyservice-controller on this
// machine (or several on one etcd store, FleetOptions::store), each serving
// on a Unix socket and its own admin socket; N real systemd test hosts
// (each with its own network namespace) running the real pyservice-agent
// installed from deploy/systemd/pyservice-agent.service and dialing every
// controller over the sockets' directory bound into the host; the real
// pyctl binary, root on the admin sockets (given all of them, it finds the
// leader).
//
// By default every host enrolls as an operator would enroll it: `pyctl host
// enroll-token NAME --label ...` written into the host as an owner-only
// file the agent's config names (enrollment_token_file), with the CA of
// the controller's server certificate (deploy/tls/make-test-ca.sh) as its
// tls_ca; the agent then connects with the certificate the controller's own
// CA issued it, and its labels are the token's.
//
// E2eFleet is that set-up as one object; FleetE2eFixture keeps one per test
// binary run (hosts take seconds to boot, so SetUpTestSuite boots them once)
// and gives the tests short static helpers over it.
#ifndef PYSERVICE_TESTS_E2E_FLEET_FLEET_E2E_H_
#define PYSERVICE_TESTS_E2E_FLEET_FLEET_E2E_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/process/subprocess.h"
#include "gtest/gtest.h"
#include "tests/e2e/testing/test_host.h"
#include "tests/testing/child_process.h"
#include "tests/testing/json.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::testing {

// What the hello app at `tag` answers on its HTTP port.
std::string Body(const std::string& tag);

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

// A point in time for `journalctl --since @N`: every event before the call
// is earlier than N, every event after it is later (the hosts share this
// machine's clock).
int64_t JournalMark();

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
  // The controllers: one on the SQLite store in its data dir when `store`
  // is empty; else `controllers` of them on that store
  // ("etcd://HOST:PORT,..."), each with its own socket, admin socket and
  // data dir, one secrets key. Every agent and pyctl is given them all.
  int controllers = 1;
  std::string store;
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
  // Starts the controllers (controller 0 first, so it leads an etcd store),
  // boots the hosts and starts their agents. Never null; when something
  // failed, error() says what (and the fleet holds what did start, cleaned
  // up by the destructor).
  static std::unique_ptr<E2eFleet> Start(FleetOptions options);
  // Stops the hosts, then the controllers.
  ~E2eFleet();

  const std::string& error() const { return error_; }
  int size() const { return static_cast<int>(hosts_.size()); }
  const std::string& HostName(int i) const { return options_.host_names[i]; }
  TestHost& Host(int i) { return *hosts_[i]; }
  const std::string& app_yaml_path() const { return app_yaml_path_; }
  // Controller i's data dir (its store, and its CA in ca/).
  std::string data_dir(int i = 0) const { return dir_.Join(absl::StrCat("data-", i)); }

  // Controller i: started on the same config, data dir and socket each
  // time, so a restart finds its store and the agents reconnect by
  // themselves. Started means serving: its admin socket is up, or (on an
  // etcd store) it follows and refuses calls.
  int controllers() const { return static_cast<int>(controllers_.size()); }
  ChildProcess& controller(int i = 0) { return *controllers_[i]; }
  absl::Status StartController(int i = 0);
  // SIGTERM (a clean stop) or SIGKILL (a crash), then reaped.
  absl::StatusOr<ExitStatus> StopController(int i = 0, absl::Duration timeout = absl::Seconds(20));
  absl::StatusOr<ExitStatus> KillController(int i = 0, absl::Duration timeout = absl::Seconds(10));
  // Whether controller i's process runs (not reaped, not exited).
  bool ControllerRuns(int i);
  // Controller i's address as this machine sees it (agents see the socket's
  // directory at /run/pyservice).
  std::string ControllerAddress(int i) const;
  // The running controller that logged `leading: this controller is the
  // leader` since its start and serves its admin socket, or -1 (none yet,
  // or no etcd store).
  int Leader();

  // pyctl ARGS against the controllers' admin sockets (root there is an
  // admin: no token), all of them as one address list, killed after
  // `timeout_seconds`. No PYCTL_ variable of ours reaches it.
  ProcessResult Pyctl(std::vector<std::string> args, int timeout_seconds = 30);
  // The same pyctl left running (`logs -f`, `events -f`), its output in
  // files read while it runs; `name` names them. Killed when destroyed.
  absl::StatusOr<std::unique_ptr<ChildProcess>> StartPyctl(std::vector<std::string> args,
                                                           const std::string& name);
  // `pyctl status APP -o json` as host -> its object; empty on failure.
  std::map<std::string, JsonValue> StatusByHost(const std::string& app,
                                                std::string* raw = nullptr);
  // Every host healthy on `tag` of the hello app `app`: connected, on
  // `tag`, "health": "healthy" with its unit active in `pyctl status`, and
  // answering HTTP with `tag`'s body.
  bool AllHealthyOn(const std::string& app, const std::string& tag, std::string* raw);
  // `pyctl get hosts -o json`: name -> connected ("true"/"false").
  std::map<std::string, std::string> Connected(std::string* raw = nullptr);
  bool AllConnected();

  // The app's HTTP answer on host i (curl inside the host's namespace).
  absl::StatusOr<std::string> HttpGet(int i);
  // `systemctl show --value -p PROPERTY UNIT` on host i (the error text on
  // failure, which never equals a real value).
  std::string ShowUnit(int i, const std::string& property, const std::string& unit = kAppUnit);
  std::string Journal(int i, const std::string& unit, int lines);
  // journalctl since `mark` (JournalMark) on host i, with extra arguments
  // (matches).
  std::string JournalSince(int i, int64_t mark, const std::vector<std::string>& args);
  // How many times the app's service was started (incl. restarts) on host
  // i since `mark`: systemd logs SD_MESSAGE_UNIT_STARTED with UNIT= once
  // per completed start job, so two restarts in quick succession, which
  // polling InvocationID could miss, count two. `lines` gets those entries.
  int ServiceStartsSince(int i, int64_t mark, std::string* lines);
  // Every controller's stderr and every agent's journal, for failure
  // messages.
  std::string Diagnostics();

 private:
  explicit E2eFleet(FleetOptions options) : options_(std::move(options)) {}
  absl::Status Boot();
  absl::Status WriteControllerConfig(int i);
  absl::Status InstallAgent(int i, const std::string& unit_file);
  // Writes what host i's agent needs to enroll into it and returns its
  // agent.yaml lines.
  absl::StatusOr<std::string> InstallAgentCredentials(int i);
  std::string AdminSocket(int i) const;
  // pyctl's argv (ARGS then --controller) and environment (ours without
  // PYCTL_ variables).
  std::vector<std::string> PyctlArgv(std::vector<std::string> args) const;
  static std::vector<std::string> PyctlEnv();

  FleetOptions options_;
  TempDir dir_;
  std::string run_dir_;  // the controllers' sockets; /run/pyservice in hosts
  // The admin sockets' directory, outside run_dir_: root in a host must not
  // be an admin.
  std::string admin_dir_;
  std::string tls_dir_;  // make-test-ca.sh's CA and server certificate
  std::string ca_pem_;   // tls_dir_'s ca.crt: each agent's tls_ca
  std::string app_yaml_path_;
  std::vector<std::string> configs_;  // controller i's config file
  std::vector<std::unique_ptr<ChildProcess>> controllers_;
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
  static std::string JournalSince(int i, int64_t mark, const std::vector<std::string>& args) {
    return fleet_->JournalSince(i, mark, args);
  }
  static int ServiceStartsSince(int i, int64_t mark, std::string* lines) {
    return fleet_->ServiceStartsSince(i, mark, lines);
  }

 private:
  static E2eFleet* fleet_;
  static std::string* setup_error_;  // set when the fleet was not even started
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_E2E_FLEET_FLEET_E2E_H_
