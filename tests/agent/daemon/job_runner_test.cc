// The job runner's drift checks (Job::Kind::kCheckDrift): what is reported
// in the app's health and what is repaired, per the app's `drift:` policy;
// and what a prepare (Job::Kind::kPrepare) sends: its result alone.
// The real pipeline and health watcher over fakes of systemd, git,
// processes and users, on a real file system in a temp dir.
#include "agent/daemon/job_runner.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/daemon/agent_metrics.h"
#include "agent/install/pipeline.h"
#include "common/metrics/registry.h"
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

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kCommit[] = "1111111111111111111111111111111111111111";

class RecordingSink final : public MessageSink {
 public:
  void Send(v1::AgentMessage message) override {
    absl::MutexLock lock(&mu_);
    messages_.push_back(std::move(message));
  }
  std::vector<v1::AgentMessage> messages() const {
    absl::MutexLock lock(&mu_);
    return messages_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<v1::AgentMessage> messages_ ABSL_GUARDED_BY(mu_);
};

class NoProgress final : public ProgressSink {
 public:
  void Report(const StepProgress&) override {}
};

std::string Slurp(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::unique_ptr<AgentMetrics> RegisteredMetrics(metrics::Registry& registry) {
  absl::StatusOr<std::unique_ptr<AgentMetrics>> registered = AgentMetrics::Register(registry);
  EXPECT_TRUE(registered.ok()) << registered.status();
  return registered.ok() ? std::move(*registered) : nullptr;
}

class JobRunnerTest : public ::testing::Test {
 protected:
  JobRunnerTest()
      : systemd_(clock_),
        host_{systemd_, git_, processes_, users_, clock_,
              [this](absl::Duration d) { clock_.Advance(d); }},
        store_(dir_.Join("state")),
        metrics_(RegisteredMetrics(registry_)),
        health_(systemd_, store_, sink_),
        runner_(host_, settings_, store_, health_, sink_, metrics_.get()) {
    settings_.state_dir = dir_.Join("state");
    settings_.unit_dir = dir_.Join("units");
    std::filesystem::create_directories(settings_.unit_dir);
    git_.AddCommit("v1", kCommit,
                   {{"pyproject.toml", "[project]\nname = \"hello\"\n"},
                    {"pinned-requirements.txt", ""},
                    {"hello/__init__.py", "VERSION = 1\n"}});
  }

  v1::AppSpec Spec(const std::string& policy_line) {
    absl::StatusOr<v1::AppSpec> spec = spec::ParseAppSpec(
        absl::StrCat("name: hello\nrepo: file:///srv/git/hello.git\ntag: v1\n",
                     "services:\n  - name: web\n    command: python -m hello web\n",
                     "config:\n  db_password: !secret HUNT3R2\n", "paths:\n  global_app_root: ",
                     dir_.Join("applications"), "\n", policy_line),
        "app.yaml");
    EXPECT_TRUE(spec.ok()) << spec.status();
    return *spec;
  }

  void Deploy(const v1::AppSpec& spec) {
    NoProgress progress;
    Pipeline pipeline(host_, settings_, store_, progress);
    ASSERT_TRUE(pipeline.Deploy(spec).ok());
    health_.Refresh("hello");
  }

  void Check() {
    Job job;
    job.kind = Job::Kind::kCheckDrift;
    job.app = "hello";
    std::atomic<bool> canceled = false;
    runner_.Execute(job, canceled);
  }

  std::string UnitPath() const { return settings_.unit_dir + "/hello-web.service"; }
  std::string ConfigPath() const {
    return dir_.Join("applications") + "/hello/app/config/config.yaml";
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  testing::FakeSystemdManager systemd_;
  testing::FakeGitFetcher git_;
  testing::FakeProcessRunner processes_;
  testing::FakeUserManager users_;
  HostServices host_;
  AgentSettings settings_;
  StateStore store_;
  RecordingSink sink_;
  metrics::Registry registry_;
  std::unique_ptr<AgentMetrics> metrics_;
  HealthWatcher health_;
  JobRunner runner_;
};

class DriftCheckJobTest : public JobRunnerTest {};

TEST_F(DriftCheckJobTest, ReportPolicy_ReportsThePathsAndLeavesTheFiles) {
  Deploy(Spec("drift: report\n"));
  std::ofstream(UnitPath()) << "[Service]\nExecStart=/bin/evil\n";
  systemd_.ClearCalls();
  Check();
  const v1::AppHealth health = health_.Current("hello");
  ASSERT_EQ(health.drift_size(), 1);
  EXPECT_EQ(health.drift(0).path(), UnitPath());
  EXPECT_EQ(health.drift(0).reason(), "changed");
  EXPECT_FALSE(health.drift(0).repaired());
  EXPECT_EQ(health.drift(0).detected_at_unix_ms(), absl::ToUnixMillis(clock_.Now()));
  EXPECT_THAT(Slurp(UnitPath()), HasSubstr("evil"));
  EXPECT_THAT(systemd_.calls(), IsEmpty());
  ASSERT_FALSE(sink_.messages().empty());
  EXPECT_EQ(sink_.messages().back().health().drift_size(), 1) << "pushed to the controller";
}

TEST_F(DriftCheckJobTest, NoPolicyMeansRepair_FileRestoredUnitRestartedAndReportedRepaired) {
  Deploy(Spec(""));
  const std::string before = Slurp(UnitPath());
  std::ofstream(UnitPath()) << "[Service]\nExecStart=/bin/evil\n";
  systemd_.ClearCalls();
  Check();
  EXPECT_EQ(Slurp(UnitPath()), before);
  EXPECT_THAT(systemd_.calls(), Contains("Reload"));
  EXPECT_THAT(systemd_.calls(), Contains("Restart hello-web.service"));
  const v1::AppHealth health = health_.Current("hello");
  ASSERT_EQ(health.drift_size(), 1);
  EXPECT_EQ(health.drift(0).path(), UnitPath());
  EXPECT_TRUE(health.drift(0).repaired());
  EXPECT_EQ(health.health(), v1::HEALTH_STATE_HEALTHY);
}

TEST_F(DriftCheckJobTest, RepairedDriftStaysListedAfterAClearCheckUntilTheNextDeploy) {
  Deploy(Spec("drift: repair\n"));
  std::ofstream(ConfigPath()) << "port: 1\n";
  Check();
  Check();  // finds nothing now
  ASSERT_EQ(health_.Current("hello").drift_size(), 1);
  EXPECT_TRUE(health_.Current("hello").drift(0).repaired());
  Job deploy;
  deploy.kind = Job::Kind::kDeploy;
  deploy.app = "hello";
  deploy.spec = Spec("drift: report\n");
  std::atomic<bool> canceled = false;
  runner_.Execute(deploy, canceled);
  EXPECT_THAT(health_.Current("hello").drift(), IsEmpty());
}

TEST_F(DriftCheckJobTest, ReportedDriftKeepsItsFirstTimeAndGoesWhenUndoneByHand) {
  Deploy(Spec("drift: report\n"));
  const std::string before = Slurp(ConfigPath());
  std::ofstream(ConfigPath()) << "port: 1\n";
  Check();
  const int64_t first = absl::ToUnixMillis(clock_.Now());
  clock_.Advance(absl::Minutes(5));
  Check();
  ASSERT_EQ(health_.Current("hello").drift_size(), 1);
  EXPECT_EQ(health_.Current("hello").drift(0).detected_at_unix_ms(), first);
  std::ofstream(ConfigPath(), std::ios::trunc) << before;
  Check();
  EXPECT_THAT(health_.Current("hello").drift(), IsEmpty());
}

TEST_F(DriftCheckJobTest, AMaskedUnitIsReportedButNeverUnmaskedOrStarted) {
  Deploy(Spec(""));
  systemd_.MaskBehindOurBack("hello-web.service");
  systemd_.ClearCalls();
  Check();
  EXPECT_THAT(systemd_.calls(), IsEmpty());
  const v1::AppHealth health = health_.Current("hello");
  ASSERT_EQ(health.drift_size(), 1);
  EXPECT_EQ(health.drift(0).reason(), "masked");
  EXPECT_FALSE(health.drift(0).repaired());
}

TEST_F(DriftCheckJobTest, ReportedDrift_ADeployOfTheSameSpecRunsAndPutsItBack) {
  const v1::AppSpec spec = Spec("drift: report\n");
  Deploy(spec);
  const std::string before = Slurp(UnitPath());
  std::ofstream(UnitPath()) << "[Service]\nExecStart=/bin/evil\n";
  Check();
  Job deploy;
  deploy.kind = Job::Kind::kDeploy;
  deploy.app = "hello";
  deploy.spec = spec;
  std::atomic<bool> canceled = false;
  runner_.Execute(deploy, canceled);
  EXPECT_EQ(Slurp(UnitPath()), before) << "not answered as already live";
  EXPECT_THAT(health_.Current("hello").drift(), IsEmpty());
}

TEST_F(DriftCheckJobTest, NoDrift_NothingReportedNothingTouched) {
  Deploy(Spec(""));
  systemd_.ClearCalls();
  Check();
  EXPECT_THAT(health_.Current("hello").drift(), IsEmpty());
  EXPECT_THAT(systemd_.calls(), IsEmpty());
}

TEST_F(DriftCheckJobTest, TheDriftRecordNeverCarriesTheFilesContent) {
  Deploy(Spec("drift: report\n"));
  std::ofstream(ConfigPath()) << "db_password: N3WS3CRET\n";
  Check();
  const std::string sent = health_.Current("hello").DebugString();
  EXPECT_THAT(sent, Not(HasSubstr("N3WS3CRET")));
  EXPECT_THAT(sent, Not(HasSubstr("HUNT3R2")));
}

class PrepareJobTest : public JobRunnerTest {
 protected:
  void Run(Job::Kind kind) {
    Job job;
    job.kind = kind;
    job.deploy_id = 7;
    job.app = "hello";
    job.revision = 1;
    job.spec = Spec("");
    std::atomic<bool> canceled = false;
    runner_.Execute(job, canceled);
  }

  int ProgressSent() const {
    int count = 0;
    for (const v1::AgentMessage& message : sink_.messages()) count += message.has_progress();
    return count;
  }
};

TEST_F(PrepareJobTest, APrepareSendsItsResultAloneNoStepProgress) {
  Run(Job::Kind::kPrepare);
  EXPECT_EQ(ProgressSent(), 0);
  ASSERT_FALSE(sink_.messages().empty());
  const v1::AgentMessage last = sink_.messages().back();
  ASSERT_TRUE(last.has_result()) << last.DebugString();
  EXPECT_EQ(last.result().deploy_id(), 7u);
  EXPECT_TRUE(last.result().ok()) << last.result().error();
}

TEST_F(PrepareJobTest, APreparesStepsAreStillCountedInTheAgentsMetrics) {
  Run(Job::Kind::kPrepare);
  EXPECT_THAT(registry_.Render(),
              HasSubstr("pyservice_agent_step_duration_seconds_count{step=\"environment\","
                        "result=\"done\"} 1\n"));
}

TEST_F(PrepareJobTest, ADeploySendsItsStepProgressOnTheStream) {
  Run(Job::Kind::kDeploy);
  EXPECT_GT(ProgressSent(), 0);
  ASSERT_FALSE(sink_.messages().empty());
  EXPECT_TRUE(sink_.messages().back().result().ok());
}

}  // namespace
}  // namespace pyservice::agent
