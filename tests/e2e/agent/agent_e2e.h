// Helpers for the agent's end-to-end tests: a test host prepared to run
// pyservice-agent (the build directory read-only at /opt/pyservice, its own
// network namespace), app.yaml documents for the hello app, and the ways
// the tests look at the host (unit properties, file owners and modes, HTTP
// answers, processes seen from the outer machine).
#ifndef PYSERVICE_TESTS_E2E_AGENT_AGENT_E2E_H_
#define PYSERVICE_TESTS_E2E_AGENT_AGENT_E2E_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/strings/str_cat.h"
#include "common/process/subprocess.h"
#include "gtest/gtest.h"
#include "tests/e2e/agent/hello_app.h"
#include "tests/e2e/testing/test_host.h"

namespace pyservice::testing {

// Where the host sees the agent binary of this build.
std::string AgentPathInHost();

// Boots a host for the agent: private network (each host's app binds its
// own 127.0.0.1), the build directory at /opt/pyservice, plus `binds`.
absl::StatusOr<std::unique_ptr<TestHost>> BootAgentHost(std::vector<BindMount> binds);

// Base of the agent e2e suites: one host per suite, booted in
// SetUpTestSuite with the hello repos (with hello-big.git when kWithBigRepo)
// bound at /srv/git. A boot failure fails every test of the suite with its
// reason; derived SetUp()s call this one first and return on a failure.
template <bool kWithBigRepo>
class AgentHostSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    repos_ = &GetHelloRepos(kWithBigRepo);
    auto host = BootAgentHost({{.source = repos_->dir, .target = "/srv/git"}});
    if (host.ok()) {
      host_ = host->release();
    } else {
      boot_error_ = new std::string(host.status().ToString());
    }
  }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(host_, nullptr) << *boot_error_; }

  // The agent's release directory name for `tag`.
  static std::string ReleaseId(const std::string& tag) {
    return absl::StrCat(tag, "-", repos_->commits.at(tag).substr(0, 12));
  }

  static inline const HelloRepos* repos_ = nullptr;
  static inline TestHost* host_ = nullptr;
  static inline std::string* boot_error_ = nullptr;
};

// One app of the hello repo, as the tests deploy it.
struct AppOptions {
  std::string name;
  std::string repo;  // URL as the host sees it
  std::string tag = "v1";
  int port = 8000;
  // Written to {{ app_config_dir }}/secret.txt (0640) through `files:`.
  std::string secret = "not-a-secret";
  std::string ssh_key{};  // empty: none
  // health.min_healthy; short where a test deploys many times.
  std::string min_healthy = "2s";
};

// The app.yaml text: service `web`, timer `report`, the secret file,
// config `port`, and a fast health gate (min_healthy, HTTP /healthz).
std::string AppYaml(const AppOptions& app);
// /srv/NAME.yaml: where WriteApp puts it in the host.
std::string AppYamlPath(const std::string& name);
absl::Status WriteApp(TestHost& host, const AppOptions& app);

// `pyservice-agent --pip-option=--no-index ARGS...` inside the host, in the
// foreground. A non-zero exit is a result.
absl::StatusOr<ProcessResult> RunAgent(TestHost& host, const std::vector<std::string>& args);
// For failure messages: exit status, stdout and stderr.
std::string Describe(const ProcessResult& result);
std::string Describe(const absl::StatusOr<ProcessResult>& result);

// The body GET http://127.0.0.1:PORT/PATH answers with inside the host,
// without the trailing newline; an error if it does not answer 200.
absl::StatusOr<std::string> HttpGet(TestHost& host, int port, const std::string& path = "/");

// `systemctl show -p P1 -p P2 ... UNIT` as a map.
absl::StatusOr<std::map<std::string, std::string>> ShowUnit(TestHost& host,
                                                            const std::string& unit,
                                                            const std::vector<std::string>& props);

// "OWNER:GROUP MODE TYPE" of `path` (stat -c '%U:%G %a %F'), e.g.
// "hello:hello 750 directory"; an error if it does not exist.
absl::StatusOr<std::string> StatPath(TestHost& host, const std::string& path);

// The outer machine's path of `path` inside the host (through the host's
// PID 1's root), for polling without entering the host.
std::string OuterPath(const TestHost& host, const std::string& path);

// Non-throwing filesystem checks on the outer machine (paths under /proc
// come and go while they are read).
bool PathExists(const std::string& path);
// Names in `dir`, sorted; empty if it does not exist.
std::vector<std::string> ListDirectory(const std::string& dir);

// Outer-machine PIDs of processes whose command line contains every one
// of `needles` (joined with spaces).
std::vector<pid_t> FindProcesses(const std::vector<std::string>& needles);

// Every process's command line, arguments joined with spaces, by PID.
std::map<pid_t, std::string> SnapshotCommandLines();

// Polls `condition` every `interval` until it is true (returns true) or
// `timeout` passes (returns false).
template <typename Condition>
bool WaitFor(Condition condition, absl::Duration timeout,
             absl::Duration interval = absl::Milliseconds(50));

// ---- requests during a deploy ----

// A request loop inside the host: GET 127.0.0.1:PORT/ every 20 ms (2 s
// timeout each) until `Stop()` or 3 minutes, recording every answer.
class RequestLoop {
 public:
  struct Answer {
    double time = 0;     // seconds, monotonic clock of the host
    std::string result;  // the body ("hello v1"), or "FAILED <why>"
  };

  // Starts the loop and waits until it got its first answer.
  static absl::StatusOr<std::unique_ptr<RequestLoop>> Start(TestHost& host, int port);
  ~RequestLoop();

  // Stops the loop and returns every answer in order.
  absl::StatusOr<std::vector<Answer>> Stop();

 private:
  RequestLoop(TestHost& host, std::string name);
  TestHost& host_;
  std::string name_;
  struct Running;
  std::unique_ptr<Running> running_;
};

// ---- implementation of the template ----

template <typename Condition>
bool WaitFor(Condition condition, absl::Duration timeout, absl::Duration interval) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(interval);
  }
}

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_E2E_AGENT_AGENT_E2E_H_
