// pyservice-agent killed with SIGKILL in the middle of a deploy — during the
// checkout, during the environment build — and run again: the second run
// converges to the same result a clean deploy has, with nothing left over.
//
// The agent runs as a transient systemd service in the host, as it does on
// a real host, so killing it also ends the tools it started (pip), exactly
// as systemd would for the real agent. Progress is watched from the outer
// machine through the host's root (/proc/PID/root), so the kill follows
// the observation within a millisecond.
#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/e2e/agent/agent_e2e.h"
#include "tests/e2e/agent/hello_app.h"
#include "tests/e2e/testing/test_host.h"

namespace pyservice::testing {
namespace {

class AgentCrashTest : public AgentHostSuite</*kWithBigRepo=*/true> {
 protected:
  void SetUp() override {
    AgentHostSuite::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_EQ(repos_->commits.count("v1-big"), 1u) << "building the hello repos failed";
  }

  static std::string ReleasesDir(const std::string& app) {
    return absl::StrCat("/applications/", app, "/app/releases");
  }

  // Starts `apply` of `app` as the transient unit agent-APP.service and
  // returns the agent's PID on the outer machine.
  static absl::StatusOr<pid_t> StartAgent(const std::string& app) {
    auto started = host_->RunOk({"systemd-run", "--quiet", "--collect",
                                 absl::StrCat("--unit=agent-", app), AgentPathInHost(),
                                 "--pip-option=--no-index", "apply", AppYamlPath(app)});
    if (!started.ok()) return started.status();
    pid_t pid = 0;
    const std::string command = absl::StrCat(AgentPathInHost(), " --pip-option=--no-index apply ",
                                             AppYamlPath(app));
    WaitFor(
        [&] {
          for (const auto& [candidate, cmdline] : SnapshotCommandLines()) {
            if (absl::StartsWith(cmdline, command)) pid = candidate;
          }
          return pid != 0;
        },
        absl::Seconds(10), absl::Milliseconds(5));
    if (pid == 0) return absl::NotFoundError("the agent did not start");
    return pid;
  }

  // SIGKILL to the agent; returns once systemd has ended its unit (and so
  // every process the agent had started).
  static void KillAgent(pid_t pid, const std::string& app) {
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    const std::string unit = absl::StrCat("agent-", app, ".service");
    std::string state;
    const bool ended = WaitFor(
        [&] {
          auto shown = ShowUnit(*host_, unit, {"ActiveState"});
          state = shown.ok() ? (*shown)["ActiveState"] : shown.status().ToString();
          return state == "inactive" || state == "failed";
        },
        absl::Seconds(20), absl::Milliseconds(100));
    ASSERT_TRUE(ended) << unit << " is still " << state;
  }

  // Entries of the app's releases directory (outer view).
  static std::vector<std::string> Releases(const std::string& app) {
    return ListDirectory(OuterPath(*host_, ReleasesDir(app)));
  }

  // The re-run: a foreground apply that must succeed. Returns stdout.
  static std::string Rerun(const std::string& app) {
    auto result = RunAgent(*host_, {"apply", AppYamlPath(app)});
    EXPECT_TRUE(result.ok() && result->Succeeded()) << "re-run: " << Describe(result);
    return result.ok() ? result->stdout_text : "";
  }

  // What a converged deploy of `app` at `tag` looks like.
  static void ExpectConverged(const std::string& app, const std::string& tag, int port) {
    const std::string release = absl::StrCat(ReleasesDir(app), "/", ReleaseId(tag));
    auto body = HttpGet(*host_, port);
    EXPECT_EQ(body.ok() ? *body : body.status().ToString(), HelloBody(tag));
    auto code = host_->RunOk({"readlink", absl::StrCat("/applications/", app, "/app/code")});
    EXPECT_EQ(std::string(absl::StripTrailingAsciiWhitespace(code.value_or("?"))), release);
    EXPECT_TRUE(
        PathExists(OuterPath(*host_, release + "/.pyservice-environment")));
    // No leftovers of the interrupted run: only the live release.
    EXPECT_EQ(Releases(app), std::vector<std::string>{ReleaseId(tag)});
    auto status = RunAgent(*host_, {"status", app});
    ASSERT_TRUE(status.ok() && status->Succeeded()) << Describe(status);
    EXPECT_TRUE(absl::StrContains(status->stdout_text, absl::StrCat("release ", ReleaseId(tag))))
        << status->stdout_text;
    EXPECT_TRUE(absl::StrContains(status->stdout_text, "active/running")) << status->stdout_text;
  }

};


TEST_F(AgentCrashTest, KilledDuringCheckout_RerunConverges) {
  const AppOptions app = {.name = "hello-kc", .repo = "file:///srv/git/hello-big.git",
                          .tag = "v1-big", .port = 8010};
  ASSERT_TRUE(WriteApp(*host_, app).ok());
  auto pid = StartAgent(app.name);
  ASSERT_TRUE(pid.ok()) << pid.status();

  // The checkout exports into releases/.incoming-<id>… and renames it into
  // place when complete: while that exists, the checkout is in progress.
  const auto exporting = [&] {
    for (const std::string& name : Releases(app.name)) {
      if (absl::StartsWith(name, ".incoming-")) return true;
    }
    return false;
  };
  const bool caught = WaitFor([&] { return exporting() || kill(*pid, 0) != 0; },
                              absl::Seconds(90), absl::Milliseconds(1));
  ASSERT_TRUE(caught && exporting()) << "never saw the checkout in progress";
  ASSERT_NO_FATAL_FAILURE(KillAgent(*pid, app.name));

  // Killed mid-checkout: a partial export, no release, nothing live.
  EXPECT_TRUE(exporting());
  for (const std::string& name : Releases(app.name)) {
    EXPECT_TRUE(absl::StartsWith(name, ".incoming-")) << name;
  }
  EXPECT_FALSE(PathExists(OuterPath(*host_, "/applications/hello-kc/app/code")));

  Rerun(app.name);
  ExpectConverged(app.name, app.tag, app.port);
  // The checkout is complete, not a resumed half: all 20,000 assets.
  auto count = host_->RunOk(
      {"sh", "-c", "find /applications/hello-kc/app/code/assets -type f | wc -l"});
  EXPECT_EQ(absl::StripTrailingAsciiWhitespace(count.value_or("?")), "20000");
}

TEST_F(AgentCrashTest, KilledDuringEnvironment_RerunConverges) {
  const AppOptions app = {.name = "hello-ke", .repo = "file:///srv/git/hello.git",
                          .tag = "v1", .port = 8011};
  ASSERT_TRUE(WriteApp(*host_, app).ok());
  const std::string release = absl::StrCat(ReleasesDir(app.name), "/", ReleaseId(app.tag));
  const std::string marker = OuterPath(*host_, release + "/.pyservice-environment");
  auto pid = StartAgent(app.name);
  ASSERT_TRUE(pid.ok()) << pid.status();

  // The environment step: the venv exists, pip is installing into it, and
  // the marker that says "built" is not written yet.
  const auto pip_running = [&] {
    return !FindProcesses({release + "/.venv/bin/python", "-m pip install"}).empty();
  };
  const bool caught =
      WaitFor([&] { return (pip_running() && !PathExists(marker)) ||
                           kill(*pid, 0) != 0; },
              absl::Seconds(90), absl::Milliseconds(5));
  ASSERT_TRUE(caught && kill(*pid, 0) == 0) << "never saw the environment step in progress";
  ASSERT_NO_FATAL_FAILURE(KillAgent(*pid, app.name));

  // Killed mid-build: a venv without the marker; pip went with the agent.
  EXPECT_TRUE(PathExists(OuterPath(*host_, release + "/.venv")));
  EXPECT_FALSE(PathExists(marker));
  EXPECT_FALSE(pip_running());
  EXPECT_FALSE(PathExists(OuterPath(*host_, "/applications/hello-ke/app/code")));

  const std::string output = Rerun(app.name);
  // The prepared checkout is reused; the half-built environment is rebuilt.
  EXPECT_TRUE(absl::StrContains(output, "checkout     unchanged")) << output;
  EXPECT_TRUE(absl::StrContains(output, "environment  done")) << output;
  ExpectConverged(app.name, app.tag, app.port);
}

}  // namespace
}  // namespace pyservice::testing
