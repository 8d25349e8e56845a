// The health watcher's pushes over the fake systemd: what a signal alone
// does not carry is read before the push.
#include "agent/daemon/health_watcher.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/install/pipeline.h"
#include "common/spec/app_spec_parser.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_git_fetcher.h"
#include "tests/testing/fake_process_runner.h"
#include "tests/testing/fake_systemd_manager.h"
#include "tests/testing/fake_user_manager.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::agent {
namespace {

class WaitingSink final : public MessageSink {
 public:
  void Send(v1::AgentMessage message) override {
    absl::MutexLock lock(&mu_);
    if (message.has_health()) last_health_ = message.health();
  }
  // Waits until a pushed health's message is `message` (bounded, so a
  // missing push fails rather than hangs); returns the last one pushed.
  v1::AppHealth WaitForMessage(const std::string& message) {
    absl::MutexLock lock(&mu_);
    auto seen = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return last_health_.message() == message;
    };
    mu_.AwaitWithTimeout(absl::Condition(&seen), absl::Seconds(30));
    return last_health_;
  }

 private:
  absl::Mutex mu_;
  v1::AppHealth last_health_ ABSL_GUARDED_BY(mu_);
};

class NoProgress final : public ProgressSink {
 public:
  void Report(const StepProgress&) override {}
};

TEST(HealthWatcherTest, ATimersFailedRunIsPushedWithItsResultAndExitStatus) {
  testing::TempDir dir;
  testing::FakeClock clock;
  testing::FakeSystemdManager systemd(clock);
  testing::FakeGitFetcher git;
  testing::FakeProcessRunner processes;
  testing::FakeUserManager users;
  HostServices host{systemd, git, processes, users, clock,
                    [&clock](absl::Duration d) { clock.Advance(d); }};
  AgentSettings settings;
  settings.state_dir = dir.Join("state");
  settings.unit_dir = dir.Join("units");
  std::filesystem::create_directories(settings.unit_dir);
  git.AddCommit("v1", std::string(40, '1'),
                {{"pyproject.toml", "[project]\nname = \"hello\"\n"},
                 {"pinned-requirements.txt", ""},
                 {"hello/__init__.py", "VERSION = 1\n"}});
  StateStore store(settings.state_dir);
  absl::StatusOr<v1::AppSpec> spec = spec::ParseAppSpec(
      absl::StrCat("name: hello\nrepo: file:///srv/git/hello.git\ntag: v1\n",
                   "timers:\n  - name: report\n    schedule: daily\n    command: python -m hello\n",
                   "paths:\n  global_app_root: ", dir.Join("applications"), "\n"),
      "app.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  NoProgress progress;
  Pipeline pipeline(host, settings, store, progress);
  ASSERT_TRUE(pipeline.Deploy(*spec).ok());

  WaitingSink sink;
  HealthWatcher health(systemd, store, sink, absl::ZeroDuration());
  health.Start();
  ASSERT_EQ(health.Current("hello").health(), v1::HEALTH_STATE_HEALTHY) << "not run yet: pending";

  // The run ends: the signal says failed/failed, nothing about how.
  systemd.FinishRun("hello-report.service", "exit-code", 1);
  const v1::AppHealth pushed =
      sink.WaitForMessage("hello-report.service last run failed: result exit-code, exit status 1");
  EXPECT_EQ(pushed.health(), v1::HEALTH_STATE_FAILED);
  EXPECT_EQ(pushed.message(),
            "hello-report.service last run failed: result exit-code, exit status 1");
  health.Stop();
}

}  // namespace
}  // namespace pyservice::agent
