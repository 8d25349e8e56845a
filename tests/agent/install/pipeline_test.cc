// The whole pipeline against fakes of systemd, git, processes and users, on
// a real file system in a temp dir.
#include "agent/install/pipeline.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/spec/app_spec_parser.h"
#include "common/spec/canonical.h"
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
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kCommitV1[] = "1111111111111111111111111111111111111111";
constexpr char kCommitV2[] = "2222222222222222222222222222222222222222";

class RecordingProgress final : public ProgressSink {
 public:
  void Report(const StepProgress& progress) override { reports.push_back(progress); }
  // "step=state" of every finished step.
  std::vector<std::string> Results() const {
    std::vector<std::string> results;
    for (const StepProgress& p : reports) {
      if (p.state != StepState::kRunning) {
        results.push_back(absl::StrCat(p.step, "=", StepStateName(p.state)));
      }
    }
    return results;
  }
  std::vector<StepProgress> reports;
};

mode_t ModeOf(const std::string& path) {
  struct stat info;
  EXPECT_EQ(lstat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

std::string Slurp(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Records progress like RecordingProgress, and stops the fake systemd's
// crashing once a verify has failed: with crash_on_start set before a
// deploy, only the release being verified crashes, and the rollback that
// follows re-activates a release that starts.
class StopCrashingAfterFailedVerify final : public ProgressSink {
 public:
  StopCrashingAfterFailedVerify(testing::FakeSystemdManager& systemd, RecordingProgress& inner)
      : systemd_(systemd), inner_(inner) {}
  void Report(const StepProgress& p) override {
    if (p.step == "verify" && p.state == StepState::kFailed) systemd_.set_crash_on_start(false);
    inner_.Report(p);
  }

 private:
  testing::FakeSystemdManager& systemd_;
  RecordingProgress& inner_;
};

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest()
      : systemd_(clock_),
        host_{systemd_, git_, processes_, users_, clock_,
              [this](absl::Duration d) { clock_.Advance(d); }},
        store_(dir_.Join("state")),
        pipeline_(host_, settings_, store_, progress_) {
    settings_.state_dir = dir_.Join("state");
    settings_.unit_dir = dir_.Join("units");
    std::filesystem::create_directories(settings_.unit_dir);
    const testing::FakeGitFetcher::Tree code = {
        {"pyproject.toml", "[project]\nname = \"hello\"\n"},
        {"pinned-requirements.txt", ""},
        {"hello/__init__.py", "VERSION = 1\n"}};
    git_.AddCommit("v1", kCommitV1, code);
    testing::FakeGitFetcher::Tree code2 = code;
    code2["hello/__init__.py"] = "VERSION = 2\n";
    git_.AddCommit("v2", kCommitV2, code2);
  }

  std::string Root() const { return dir_.Join("applications"); }

  v1::AppSpec Spec(const std::string& tag, const std::string& extra = "") {
    const std::string yaml = absl::StrCat(
        "name: hello\nrepo: file:///srv/git/hello.git\ntag: ", tag, "\n",
        "ssh_key: \"-----BEGIN OPENSSH PRIVATE KEY-----\\nS3CR3TKEY\\n-----END OPENSSH PRIVATE KEY-----\\n\"\n",
        "services:\n  - name: web\n    command: \"python -m {{ app_module }} --config {{ app_config }} web\"\n",
        "timers:\n  - name: report\n    schedule: daily\n    command: python -m hello report\n",
        "files:\n  - dest: \"{{ app_config_dir }}/token\"\n    content: \"T0PS3CRET\"\n",
        "config:\n  port: 8000\n  data: \"{{ app_data_dir }}\"\n  db_password: !secret HUNT3R2\n",
        "paths:\n  global_app_root: ", Root(), "\n", extra);
    absl::StatusOr<v1::AppSpec> spec = spec::ParseAppSpec(yaml, "app.yaml");
    EXPECT_TRUE(spec.ok()) << spec.status();
    return *spec;
  }

  // v1 as controller revision 1, then v2 as revision 2: v1 is kept.
  void DeployV1ThenV2() {
    DeployOptions options;
    options.revision = 1;
    ASSERT_TRUE(pipeline_.Deploy(Spec("v1"), options).ok());
    options.revision = 2;
    ASSERT_TRUE(pipeline_.Deploy(Spec("v2"), options).ok());
  }

  v1::AppState State() {
    absl::StatusOr<std::optional<v1::AppState>> state = store_.Load("hello");
    EXPECT_TRUE(state.ok() && state->has_value());
    return state.ok() && *state ? **state : v1::AppState();
  }

  std::string LiveTarget() {
    return std::filesystem::read_symlink(Root() + "/hello/app/code").string();
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
  RecordingProgress progress_;
  Pipeline pipeline_;
};

TEST_F(PipelineTest, FirstDeployBuildsEverythingAndStartsTheUnits) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());

  EXPECT_THAT(progress_.Results(),
              ElementsAre("user=done", "directories=done", "ssh-key=done", "checkout=done",
                          "environment=done", "files=done", "config=done", "switch=done",
                          "units=done", "verify=done"));
  EXPECT_THAT(users_.created(),
              ElementsAre("group hello", absl::StrCat("user hello group=hello home=", Root(),
                                                      "/hello comment=User for hello service")));
  // The role's tree and modes.
  EXPECT_EQ(ModeOf(Root() + "/hello"), 0775u);
  EXPECT_EQ(ModeOf(Root() + "/hello/app"), 0775u);
  EXPECT_EQ(ModeOf(Root() + "/hello/app/config"), 0750u);
  EXPECT_EQ(ModeOf(Root() + "/hello/data"), 0750u);
  // The release, live through the code symlink.
  EXPECT_EQ(LiveTarget(), Root() + "/hello/app/releases/v1-111111111111");
  EXPECT_EQ(Slurp(Root() + "/hello/app/code/hello/__init__.py"), "VERSION = 1\n");
  // Secrets: the key and the file, 0600.
  EXPECT_EQ(ModeOf(Root() + "/hello/app/config/ssh_key"), 0600u);
  EXPECT_THAT(Slurp(Root() + "/hello/app/config/ssh_key"), HasSubstr("S3CR3TKEY"));
  EXPECT_EQ(git_.last_request().ssh_key_path, Root() + "/hello/app/config/ssh_key");
  EXPECT_EQ(Slurp(Root() + "/hello/app/config/token"), "T0PS3CRET");
  EXPECT_EQ(ModeOf(Root() + "/hello/app/config/token"), 0600u);
  // config.yaml with templates expanded, and the !secret value as a plain
  // string the app reads like any other.
  EXPECT_EQ(Slurp(Root() + "/hello/app/config/config.yaml"),
            absl::StrCat("data: \"", Root(), "/hello/data\"\ndb_password: \"HUNT3R2\"\nport: 8000\n"));
  EXPECT_EQ(ModeOf(Root() + "/hello/app/config/config.yaml"), 0600u);
  // Units written, loaded, enabled and started; the timer's job is not.
  EXPECT_TRUE(std::filesystem::exists(settings_.unit_dir + "/hello-web.service"));
  EXPECT_TRUE(std::filesystem::exists(settings_.unit_dir + "/hello-report.service"));
  EXPECT_TRUE(std::filesystem::exists(settings_.unit_dir + "/hello-report.timer"));
  EXPECT_THAT(systemd_.calls(), Contains("Reload"));
  EXPECT_THAT(systemd_.calls(), Contains("Restart hello-web.service"));
  EXPECT_THAT(systemd_.calls(), Contains("Restart hello-report.timer"));
  EXPECT_THAT(systemd_.calls(), Not(Contains("Restart hello-report.service")));
  EXPECT_TRUE(systemd_.enabled("hello-web.service"));
  EXPECT_TRUE(systemd_.enabled("hello-report.timer"));
  // The venv backend (no uv binary), built as the app user.
  EXPECT_THAT(processes_.commands(),
              Contains(absl::StrCat("/usr/bin/python3 -m venv ", Root(),
                                    "/hello/app/releases/v1-111111111111/.venv")));
  ASSERT_FALSE(processes_.runs().empty());
  EXPECT_TRUE(processes_.runs()[0].run_as.has_value());
  const v1::AppState state = State();
  EXPECT_EQ(state.live().id(), "v1-111111111111");
  EXPECT_EQ(state.live().backend(), "venv");
  EXPECT_FALSE(state.has_in_flight());
}

TEST_F(PipelineTest, ReapplyOfTheSameSpecTouchesNothing) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  systemd_.ClearCalls();
  processes_.Clear();
  progress_.reports.clear();
  const int fetches = git_.fetches();

  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());

  EXPECT_THAT(progress_.Results(),
              ElementsAre("user=unchanged", "directories=unchanged", "ssh-key=unchanged",
                          "checkout=unchanged", "environment=unchanged", "files=unchanged",
                          "config=unchanged", "switch=unchanged", "units=unchanged",
                          "verify=unchanged"));
  EXPECT_EQ(git_.fetches(), fetches) << "no fetch for the live revision";
  EXPECT_THAT(processes_.commands(), IsEmpty());
  for (const std::string& call : systemd_.calls()) {
    EXPECT_THAT(call, Not(HasSubstr("Restart"))) << call;
    EXPECT_THAT(call, Not(HasSubstr("Start"))) << call;
    EXPECT_NE(call, "Reload");
  }
}

TEST_F(PipelineTest, NewTagPreparesANewReleaseSwitchesAndRestarts) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  systemd_.ClearCalls();
  ASSERT_TRUE(pipeline_.Deploy(Spec("v2")).ok());
  EXPECT_EQ(LiveTarget(), Root() + "/hello/app/releases/v2-222222222222");
  EXPECT_EQ(Slurp(Root() + "/hello/app/code/hello/__init__.py"), "VERSION = 2\n");
  EXPECT_THAT(systemd_.calls(), Contains("Restart hello-web.service"));
  const v1::AppState state = State();
  EXPECT_EQ(state.live().id(), "v2-222222222222");
  ASSERT_EQ(state.previous_size(), 1);
  EXPECT_EQ(state.previous(0).id(), "v1-111111111111");
  EXPECT_TRUE(std::filesystem::exists(Root() + "/hello/app/releases/v1-111111111111"))
      << "the previous release is kept for rollback";
}

TEST_F(PipelineTest, ConfigChangeReusesTheReleaseAndRestartsServices) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  const int exports = git_.exports();
  systemd_.ClearCalls();
  v1::AppSpec changed = Spec("v1");
  changed.set_config_yaml("port: 9000\n");
  ASSERT_TRUE(pipeline_.Deploy(changed).ok());
  EXPECT_EQ(git_.exports(), exports);
  EXPECT_EQ(Slurp(Root() + "/hello/app/config/config.yaml"), "port: 9000\n");
  EXPECT_THAT(systemd_.calls(), Contains("Restart hello-web.service"));
  EXPECT_THAT(systemd_.calls(), Not(Contains("Reload"))) << "no unit file changed";
}

TEST_F(PipelineTest, UnhealthyReleaseIsRolledBackAutomatically) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  systemd_.set_crash_on_start(true);
  // Crash only the new release: the fake crashes every start, so stop
  // crashing as soon as the rollback begins re-activating v1.
  StopCrashingAfterFailedVerify progress(systemd_, progress_);
  Pipeline pipeline(host_, settings_, store_, progress);

  absl::Status status = pipeline.Deploy(Spec("v2"));

  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("verify: hello-web.service is failed"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("RuntimeError: broken build"))
      << "the journal tail is in the report";
  EXPECT_THAT(std::string(status.message()), HasSubstr("rolled back to v1-111111111111"));
  EXPECT_EQ(LiveTarget(), Root() + "/hello/app/releases/v1-111111111111");
  const v1::AppState state = State();
  EXPECT_EQ(state.live().id(), "v1-111111111111");
  EXPECT_THAT(state.last_result(), HasSubstr("failed"));
  EXPECT_EQ(systemd_.GetUnitState("hello-web.service")->active_state, "active");
}

TEST_F(PipelineTest, RollbackSwitchesToThePreviousReleaseWithoutFetchingOrBuilding) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  ASSERT_TRUE(pipeline_.Deploy(Spec("v2")).ok());
  const int fetches = git_.fetches();
  processes_.Clear();

  ASSERT_TRUE(pipeline_.Rollback("hello").ok());

  EXPECT_EQ(LiveTarget(), Root() + "/hello/app/releases/v1-111111111111");
  EXPECT_EQ(git_.fetches(), fetches);
  EXPECT_THAT(processes_.commands(), IsEmpty());
  const v1::AppState state = State();
  EXPECT_EQ(state.live().id(), "v1-111111111111");
  EXPECT_EQ(state.previous(0).id(), "v2-222222222222");
}

// The controller's rollback or undo: an older spec under a new revision.
TEST_F(PipelineTest, DeployOfAKeptReleasesSpecReactivatesItWithoutFetchingOrBuilding) {
  ASSERT_NO_FATAL_FAILURE(DeployV1ThenV2());
  DeployOptions options;
  const int fetches = git_.fetches();
  const int exports = git_.exports();
  processes_.Clear();
  systemd_.ClearCalls();
  progress_.reports.clear();

  options.revision = 3;
  DeployOutcome outcome;
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1"), options, &outcome).ok());

  EXPECT_THAT(progress_.Results(),
              ElementsAre("user=unchanged", "directories=unchanged", "ssh-key=unchanged",
                          "files=unchanged", "config=unchanged", "switch=done", "units=done",
                          "verify=done"))
      << "no checkout, no environment";
  EXPECT_EQ(git_.fetches(), fetches);
  EXPECT_EQ(git_.exports(), exports);
  EXPECT_THAT(processes_.commands(), IsEmpty()) << "no build";
  EXPECT_TRUE(outcome.failed_step.empty());
  EXPECT_FALSE(outcome.rolled_back);
  bool noted = false;
  for (const StepProgress& p : progress_.reports) {
    noted = noted || (p.step == "user" && p.state != StepState::kRunning &&
                      absl::StrContains(p.message, "re-activating kept release v1-111111111111"));
  }
  EXPECT_TRUE(noted) << "the re-activation is reported";
  EXPECT_EQ(LiveTarget(), Root() + "/hello/app/releases/v1-111111111111");
  EXPECT_EQ(Slurp(Root() + "/hello/app/code/hello/__init__.py"), "VERSION = 1\n");
  EXPECT_THAT(systemd_.calls(), Contains("Restart hello-web.service"));
  const v1::AppState state = State();
  EXPECT_EQ(state.live().id(), "v1-111111111111");
  EXPECT_EQ(state.live().revision(), 3u);
  EXPECT_EQ(state.live().commit(), kCommitV1);
  EXPECT_EQ(state.live().backend(), "venv");
  EXPECT_FALSE(state.live().tree_digest().empty());
  ASSERT_EQ(state.previous_size(), 1);
  EXPECT_EQ(state.previous(0).id(), "v2-222222222222");
  EXPECT_EQ(state.previous(0).revision(), 2u);
  EXPECT_FALSE(state.has_in_flight());
  EXPECT_EQ(state.last_result(), "deployed v1-111111111111");
  EXPECT_TRUE(std::filesystem::exists(Root() + "/hello/app/releases/v2-222222222222"))
      << "v2 is kept for the next rollback";

  // And back again (the rollout's automatic rollback): v2 is kept too.
  options.revision = 2;
  progress_.reports.clear();
  ASSERT_TRUE(pipeline_.Deploy(Spec("v2"), options).ok());
  EXPECT_EQ(git_.fetches(), fetches);
  EXPECT_THAT(progress_.Results(), Not(Contains("checkout=done")));
  EXPECT_THAT(progress_.Results(), Not(Contains("checkout=unchanged")));
  EXPECT_EQ(State().live().id(), "v2-222222222222");
  EXPECT_EQ(State().live().revision(), 2u);
  EXPECT_EQ(State().previous(0).id(), "v1-111111111111");
  EXPECT_EQ(State().previous(0).revision(), 3u);
}

TEST_F(PipelineTest, AKeptReleaseIsFoundByItsSpecUnderAnyDigestAndTakesTheNewOne) {
  // v1 was kept under the digest of a local apply; the controller now sends
  // it under its own (keyed) digest.
  ASSERT_NO_FATAL_FAILURE(DeployV1ThenV2());
  const int fetches = git_.fetches();
  processes_.Clear();
  DeployOptions options;
  options.revision = 3;
  options.spec_digest = "sha256:controller-digest-of-v1";
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1"), options).ok());
  EXPECT_EQ(git_.fetches(), fetches);
  EXPECT_THAT(processes_.commands(), IsEmpty()) << "re-activated, not built";
  EXPECT_EQ(State().live().id(), "v1-111111111111");
  EXPECT_EQ(State().live().spec_digest(), "sha256:controller-digest-of-v1");
}

TEST_F(PipelineTest, ALocalDeployRecordsTheUnkeyedDigest) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  EXPECT_EQ(State().live().spec_digest(), spec::UnkeyedSpecDigest(Spec("v1")));
}

TEST_F(PipelineTest, FailedVerifyOfAReactivatedReleaseRollsBackToTheLiveOne) {
  ASSERT_NO_FATAL_FAILURE(DeployV1ThenV2());
  DeployOptions options;
  const int fetches = git_.fetches();
  processes_.Clear();
  systemd_.set_crash_on_start(true);
  // Crash only the re-activated v1: stop crashing once its verify failed.
  StopCrashingAfterFailedVerify progress(systemd_, progress_);
  Pipeline pipeline(host_, settings_, store_, progress);
  progress_.reports.clear();

  options.revision = 3;
  DeployOutcome outcome;
  absl::Status status = pipeline.Deploy(Spec("v1"), options, &outcome);

  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("verify: hello-web.service is failed"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("rolled back to v2-222222222222"));
  EXPECT_EQ(outcome.failed_step, "verify");
  EXPECT_TRUE(outcome.rolled_back);
  EXPECT_FALSE(State().live_broken()) << "v2 runs as before: its health is its units'";
  EXPECT_EQ(git_.fetches(), fetches);
  EXPECT_THAT(processes_.commands(), IsEmpty());
  EXPECT_THAT(progress_.Results(), Not(Contains("checkout=done")));
  EXPECT_EQ(LiveTarget(), Root() + "/hello/app/releases/v2-222222222222");
  EXPECT_EQ(Slurp(Root() + "/hello/app/code/hello/__init__.py"), "VERSION = 2\n");
  const v1::AppState state = State();
  EXPECT_EQ(state.live().id(), "v2-222222222222");
  EXPECT_EQ(state.live().revision(), 2u);
  ASSERT_EQ(state.previous_size(), 1);
  EXPECT_EQ(state.previous(0).id(), "v1-111111111111") << "v1 stays kept";
  EXPECT_EQ(state.previous(0).revision(), 1u);
  EXPECT_THAT(state.last_result(), HasSubstr("failed"));
  EXPECT_EQ(systemd_.GetUnitState("hello-web.service")->active_state, "active");
  EXPECT_TRUE(std::filesystem::exists(Root() + "/hello/app/releases/v1-111111111111"));
}

TEST_F(PipelineTest, ReactivationAbandonsAnUnfinishedDeployOfAnotherRevision) {
  git_.AddCommit("v3", std::string(40, '3'), {{"hello/__init__.py", "VERSION = 3\n"}});
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  ASSERT_TRUE(pipeline_.Deploy(Spec("v2")).ok());
  ASSERT_TRUE(pipeline_.Prepare(Spec("v3")).ok());
  ASSERT_TRUE(State().has_in_flight());
  const int fetches = git_.fetches();
  processes_.Clear();

  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());

  EXPECT_EQ(git_.fetches(), fetches);
  EXPECT_THAT(processes_.commands(), IsEmpty());
  const v1::AppState state = State();
  EXPECT_FALSE(state.has_in_flight());
  EXPECT_EQ(state.live().id(), "v1-111111111111");
  EXPECT_EQ(state.previous(0).id(), "v2-222222222222");
  EXPECT_FALSE(std::filesystem::exists(Root() + "/hello/app/releases/v3-333333333333"))
      << "the abandoned release is cleaned up";
}

TEST_F(PipelineTest, AKeptReleaseWhoseDirectoryIsGoneIsBuiltAgain) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  ASSERT_TRUE(pipeline_.Deploy(Spec("v2")).ok());
  std::filesystem::remove_all(Root() + "/hello/app/releases/v1-111111111111");
  progress_.reports.clear();

  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());

  EXPECT_THAT(progress_.Results(), Contains("checkout=done"));
  EXPECT_THAT(progress_.Results(), Contains("environment=done"));
  EXPECT_EQ(LiveTarget(), Root() + "/hello/app/releases/v1-111111111111");
  EXPECT_EQ(State().previous(0).id(), "v2-222222222222");
}

TEST_F(PipelineTest, RollbackWithoutAPreviousReleaseIsRefused) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  absl::Status status = pipeline_.Rollback("hello");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("no previous release of hello"));
}

TEST_F(PipelineTest, HandEditedUnitIsRepairedAndReported) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  std::ofstream(settings_.unit_dir + "/hello-web.service") << "[Service]\nExecStart=/bin/evil\n";
  systemd_.ClearCalls();
  progress_.reports.clear();
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  EXPECT_THAT(Slurp(settings_.unit_dir + "/hello-web.service"), Not(HasSubstr("evil")));
  EXPECT_THAT(systemd_.calls(), Contains("Reload"));
  EXPECT_THAT(systemd_.calls(), Contains("Restart hello-web.service"));
  bool reported = false;
  for (const StepProgress& p : progress_.reports) {
    reported = reported || (p.step == "units" && p.message.find("repaired") != std::string::npos);
  }
  EXPECT_TRUE(reported) << "drift is reported";
}

TEST_F(PipelineTest, HandEditedCodeIsRepaired) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  std::ofstream(Root() + "/hello/app/code/hello/__init__.py") << "VERSION = 666\n";
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  EXPECT_EQ(Slurp(Root() + "/hello/app/code/hello/__init__.py"), "VERSION = 1\n");
}

TEST_F(PipelineTest, StoppedServiceIsStartedAgain) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  systemd_.StopBehindOurBack("hello-web.service");
  systemd_.ClearCalls();
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  EXPECT_THAT(systemd_.calls(), Contains("Start hello-web.service"));
}

TEST_F(PipelineTest, UnitsTheNewRevisionDropsAreStoppedDisabledAndRemoved) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  v1::AppSpec without_timer = Spec("v1");
  without_timer.clear_timers();
  systemd_.ClearCalls();
  ASSERT_TRUE(pipeline_.Deploy(without_timer).ok());
  EXPECT_THAT(systemd_.calls(), Contains("Stop hello-report.timer"));
  EXPECT_THAT(systemd_.calls(), Contains("Disable hello-report.timer"));
  EXPECT_FALSE(std::filesystem::exists(settings_.unit_dir + "/hello-report.timer"));
  EXPECT_FALSE(std::filesystem::exists(settings_.unit_dir + "/hello-report.service"));
  EXPECT_TRUE(std::filesystem::exists(settings_.unit_dir + "/hello-web.service"));
}

TEST_F(PipelineTest, DroppedFilesAndKeyAreRemoved) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  v1::AppSpec bare = Spec("v1");
  bare.clear_files();
  bare.clear_ssh_key();
  ASSERT_TRUE(pipeline_.Deploy(bare).ok());
  EXPECT_FALSE(std::filesystem::exists(Root() + "/hello/app/config/token"));
  EXPECT_FALSE(std::filesystem::exists(Root() + "/hello/app/config/ssh_key"));
}

TEST_F(PipelineTest, KeepsThreeReleases) {
  for (const char* tag : {"t1", "t2", "t3", "t4"}) {
    git_.AddCommit(tag, std::string(40, tag[1]), {{"hello/__init__.py", tag}});
    ASSERT_TRUE(pipeline_.Deploy(Spec(tag)).ok()) << tag;
  }
  std::vector<std::string> releases;
  for (const auto& entry : std::filesystem::directory_iterator(Root() + "/hello/app/releases")) {
    releases.push_back(entry.path().filename().string());
  }
  std::sort(releases.begin(), releases.end());
  EXPECT_THAT(releases, ElementsAre("t2-222222222222", "t3-333333333333", "t4-444444444444"));
}

TEST_F(PipelineTest, FailedBuildChangesNothingLiveAndARerunConverges) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  processes_.FailWhenArgumentIs("pinned-requirements.txt");
  absl::Status failed = pipeline_.Deploy(Spec("v2"));
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(std::string(failed.message()), HasSubstr("environment: pip install -r pinned-requirements.txt failed"));
  EXPECT_EQ(LiveTarget(), Root() + "/hello/app/releases/v1-111111111111") << "v1 untouched";

  processes_.FailWhenArgumentIs("");
  ASSERT_TRUE(pipeline_.Deploy(Spec("v2")).ok());
  EXPECT_EQ(LiveTarget(), Root() + "/hello/app/releases/v2-222222222222");
}

TEST_F(PipelineTest, ResumesAnInterruptedDeploy) {
  // A crash after checkout: the state says so, the release is on disk.
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  processes_.FailWhenArgumentIs("venv");  // stands in for the crash
  ASSERT_FALSE(pipeline_.Deploy(Spec("v2")).ok());
  const int exports = git_.exports();
  processes_.FailWhenArgumentIs("");
  ASSERT_TRUE(pipeline_.Deploy(Spec("v2")).ok());
  EXPECT_EQ(git_.exports(), exports) << "the exported release is reused";
}

// Calls `then` with the state as saved when `step` reported its result
// (the state is saved just before): what an agent killed right then leaves.
class OnStepResult final : public ProgressSink {
 public:
  OnStepResult(RecordingProgress& inner, std::string step, std::function<void()> then)
      : inner_(inner), step_(std::move(step)), then_(std::move(then)) {}
  void Report(const StepProgress& p) override {
    inner_.Report(p);
    if (p.step == step_ && p.state != StepState::kRunning) then_();
  }

 private:
  RecordingProgress& inner_;
  std::string step_;
  std::function<void()> then_;
};

TEST_F(PipelineTest, TheStateSavedWithTheUnitsStepNamesTheRestartedReleaseLive) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  v1::AppState after_units;
  OnStepResult progress(progress_, "units", [&] { after_units = State(); });
  Pipeline pipeline(host_, settings_, store_, progress);

  ASSERT_TRUE(pipeline.Deploy(Spec("v2")).ok());

  // Killed during verify, the agent reports what runs: v2.
  EXPECT_EQ(after_units.live().id(), "v2-222222222222");
  ASSERT_EQ(after_units.previous_size(), 1);
  EXPECT_EQ(after_units.previous(0).id(), "v1-111111111111");
  EXPECT_TRUE(after_units.has_in_flight()) << "verify is still to run";
}

TEST_F(PipelineTest, ResumedDeployKilledAfterTheSwitchRestartsTheServices) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  // The state an agent killed right after the switch (before units) left.
  const std::string state_file = dir_.Join("state/apps/hello/state.pb");
  const std::string saved = dir_.Join("after-switch.pb");
  OnStepResult progress(progress_, "switch",
                        [&] { std::filesystem::copy_file(state_file, saved); });
  Pipeline pipeline(host_, settings_, store_, progress);
  ASSERT_TRUE(pipeline.Deploy(Spec("v2")).ok());
  std::filesystem::copy_file(saved, state_file,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_EQ(State().live().id(), "v1-111111111111");
  progress_.reports.clear();

  // The resumed run finds the symlink switched already; the services
  // still run v1's code and must restart.
  ASSERT_TRUE(pipeline_.Deploy(Spec("v2")).ok());

  EXPECT_THAT(progress_.Results(), Contains("switch=unchanged"));
  bool restarted = false;
  for (const StepProgress& p : progress_.reports) {
    if (p.step == "units" && absl::StrContains(p.message, "restarted hello-web.service")) {
      restarted = true;
    }
  }
  EXPECT_TRUE(restarted);
  EXPECT_EQ(State().live().id(), "v2-222222222222");
}

TEST_F(PipelineTest, SecretsNeverAppearInProgress) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  ASSERT_TRUE(pipeline_.Deploy(Spec("v2")).ok());
  for (const StepProgress& p : progress_.reports) {
    EXPECT_THAT(p.message, Not(HasSubstr("S3CR3TKEY")));
    EXPECT_THAT(p.message, Not(HasSubstr("T0PS3CRET")));
    EXPECT_THAT(p.message, Not(HasSubstr("HUNT3R2")));
  }
}

TEST_F(PipelineTest, UvBackendPinsUvAndSyncsIntoTheRelease) {
  const std::string uv = dir_.Join("uv");
  std::ofstream(uv) << "#!/bin/sh\n";
  chmod(uv.c_str(), 0755);
  processes_.set_uv_version_output("uv 0.4.0\n");
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1", absl::StrCat("  uv_location: ", uv, "\nuv_version: \"0.5.1\"\n"))).ok());
  const std::string release = Root() + "/hello/app/releases/v1-111111111111";
  EXPECT_THAT(processes_.commands(), Contains(uv + " self update 0.5.1"));
  EXPECT_THAT(processes_.commands(), Contains(uv + " sync --frozen"));
  for (const ProcessOptions& run : processes_.runs()) {
    if (run.argv.size() > 1 && run.argv[1] == "sync") {
      EXPECT_EQ(run.working_dir, release);
      EXPECT_THAT(*run.env, Contains(absl::StrCat("UV_PROJECT_ENVIRONMENT=", release, "/.venv")));
      EXPECT_THAT(*run.env, Contains(absl::StrCat("UV_CACHE_DIR=", Root(), "/hello/app/uv/cache")));
      EXPECT_TRUE(run.run_as.has_value());
    }
  }
  EXPECT_EQ(State().live().backend(), "uv");
  EXPECT_THAT(Slurp(settings_.unit_dir + "/hello-web.service"),
              HasSubstr(absl::StrCat("ExecStart=/usr/bin/env UV_PROJECT_ENVIRONMENT=", Root(),
                                     "/hello/app/code/.venv")));
}

TEST_F(PipelineTest, OfflinePipOptionsAreUsed) {
  settings_.pip_options = {"--no-index", "--find-links", "/srv/wheels"};
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  const std::string pip = Root() + "/hello/app/releases/v1-111111111111/.venv/bin/pip";
  EXPECT_THAT(processes_.commands(),
              Contains(absl::StrCat(pip, " install --no-index --find-links /srv/wheels "
                                         "--no-build-isolation -e .")));
}

// ---- what the daemon adds: revisions, prepare, remove, cancel ----

TEST_F(PipelineTest, TheRevisionIsRecordedInTheLiveRelease) {
  DeployOptions options;
  options.revision = 7;
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1"), options).ok());
  EXPECT_EQ(State().live().revision(), 7u);
  options.revision = 8;
  ASSERT_TRUE(pipeline_.Deploy(Spec("v2"), options).ok());
  EXPECT_EQ(State().live().revision(), 8u);
  EXPECT_EQ(State().previous(0).revision(), 7u);
}

TEST_F(PipelineTest, PrepareOfAKeptReleasesSpecDoesNothing_TheDeployReactivatesIt) {
  ASSERT_NO_FATAL_FAILURE(DeployV1ThenV2());
  DeployOptions options;
  const int fetches = git_.fetches();
  processes_.Clear();
  progress_.reports.clear();

  options.revision = 3;  // an undo: v1's spec again, prepared ahead of its wave
  ASSERT_TRUE(pipeline_.Prepare(Spec("v1"), options).ok());
  EXPECT_THAT(progress_.Results(), IsEmpty()) << "nothing to prepare";
  EXPECT_EQ(git_.fetches(), fetches);
  EXPECT_FALSE(State().has_in_flight());

  ASSERT_TRUE(pipeline_.Deploy(Spec("v1"), options).ok());
  EXPECT_EQ(git_.fetches(), fetches) << "re-activated, not fetched";
  EXPECT_THAT(processes_.commands(), IsEmpty()) << "no build";
  EXPECT_EQ(State().live().id(), "v1-111111111111");
  EXPECT_EQ(State().live().revision(), 3u);
}

TEST_F(PipelineTest, PrepareBuildsTheReleaseAndALaterDeployOnlySwitches) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  progress_.reports.clear();
  systemd_.ClearCalls();
  DeployOptions options;
  options.revision = 2;
  ASSERT_TRUE(pipeline_.Prepare(Spec("v2"), options).ok());
  EXPECT_THAT(progress_.Results(),
              ElementsAre("user=unchanged", "directories=unchanged", "ssh-key=unchanged",
                          "checkout=done", "environment=done"));
  EXPECT_EQ(LiveTarget(), Root() + "/hello/app/releases/v1-111111111111") << "v1 still live";
  EXPECT_TRUE(std::filesystem::exists(Root() + "/hello/app/releases/v2-222222222222"));
  EXPECT_THAT(systemd_.calls(), IsEmpty()) << "nothing restarted";
  EXPECT_EQ(State().live().id(), "v1-111111111111");
  EXPECT_TRUE(State().has_in_flight());

  const int exports = git_.exports();
  processes_.Clear();
  progress_.reports.clear();
  ASSERT_TRUE(pipeline_.Deploy(Spec("v2"), options).ok());
  EXPECT_EQ(git_.exports(), exports) << "the prepared release is used";
  EXPECT_THAT(processes_.commands(), IsEmpty()) << "no build";
  EXPECT_THAT(progress_.Results(), Contains("switch=done"));
  EXPECT_THAT(progress_.Results(), Contains("environment=unchanged"));
  EXPECT_EQ(LiveTarget(), Root() + "/hello/app/releases/v2-222222222222");
  EXPECT_EQ(State().live().revision(), 2u);
}

TEST_F(PipelineTest, CancelStopsAtTheNextStepBoundary) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  progress_.reports.clear();
  // Canceled while checkout runs: the pipeline notices before environment.
  int asked = 0;
  DeployOptions options;
  options.canceled = [&] { return ++asked > 4; };
  DeployOutcome outcome;
  absl::Status status = pipeline_.Deploy(Spec("v2"), options, &outcome);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(status.message(), "environment: canceled");
  EXPECT_EQ(outcome.failed_step, "environment");
  EXPECT_FALSE(outcome.rolled_back);
  EXPECT_THAT(progress_.Results(),
              ElementsAre("user=unchanged", "directories=unchanged", "ssh-key=unchanged",
                          "checkout=done", "environment=failed"));
  EXPECT_EQ(progress_.reports.back().message, "canceled");
  EXPECT_EQ(LiveTarget(), Root() + "/hello/app/releases/v1-111111111111");
  // The next run resumes: the checked-out release is reused.
  const int exports = git_.exports();
  ASSERT_TRUE(pipeline_.Deploy(Spec("v2")).ok());
  EXPECT_EQ(git_.exports(), exports);
}

TEST_F(PipelineTest, CancelAfterTheSwitchRollsBack) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  int asked = 0;
  DeployOptions options;
  options.canceled = [&] { return ++asked > 9; };  // before verify
  DeployOutcome outcome;
  absl::Status status = pipeline_.Deploy(Spec("v2"), options, &outcome);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(outcome.failed_step, "verify");
  EXPECT_TRUE(outcome.rolled_back);
  EXPECT_THAT(std::string(status.message()), HasSubstr("rolled back to v1-111111111111"));
  EXPECT_EQ(LiveTarget(), Root() + "/hello/app/releases/v1-111111111111");
}

TEST_F(PipelineTest, FailedStepIsReportedInTheOutcome) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  processes_.FailWhenArgumentIs("pinned-requirements.txt");
  DeployOutcome outcome;
  ASSERT_FALSE(pipeline_.Deploy(Spec("v2"), {}, &outcome).ok());
  EXPECT_EQ(outcome.failed_step, "environment");
  EXPECT_FALSE(outcome.rolled_back);
}

TEST_F(PipelineTest, RemoveStopsDisablesAndDeletesUnitsButKeepsTheApp) {
  DeployOptions options;
  options.revision = 3;
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1"), options).ok());
  systemd_.ClearCalls();
  progress_.reports.clear();

  ASSERT_TRUE(pipeline_.Remove("hello").ok());

  const std::vector<std::string> calls = systemd_.calls();
  EXPECT_THAT(calls, Contains("Stop hello-report.timer"));
  EXPECT_THAT(calls, Contains("Stop hello-web.service"));
  EXPECT_LT(std::find(calls.begin(), calls.end(), "Stop hello-report.timer"),
            std::find(calls.begin(), calls.end(), "Stop hello-web.service"))
      << "timers first";
  EXPECT_THAT(calls, Contains("Disable hello-web.service"));
  EXPECT_THAT(calls, Contains("Reload"));
  EXPECT_FALSE(systemd_.enabled("hello-web.service"));
  EXPECT_FALSE(std::filesystem::exists(settings_.unit_dir + "/hello-web.service"));
  EXPECT_FALSE(std::filesystem::exists(settings_.unit_dir + "/hello-report.timer"));
  EXPECT_FALSE(std::filesystem::exists(settings_.unit_dir + "/hello-report.service"));
  EXPECT_TRUE(std::filesystem::exists(Root() + "/hello/app/releases/v1-111111111111"))
      << "the app tree stays";
  EXPECT_TRUE(std::filesystem::exists(Root() + "/hello/app/config/config.yaml"));
  EXPECT_THAT(progress_.Results(), ElementsAre("remove=done"));
  const v1::AppState state = State();
  EXPECT_TRUE(state.live().id().empty()) << "nothing live";
  ASSERT_EQ(state.previous_size(), 1);
  EXPECT_EQ(state.previous(0).id(), "v1-111111111111");
  EXPECT_EQ(state.last_result(), "removed");

  systemd_.ClearCalls();
  progress_.reports.clear();
  ASSERT_TRUE(pipeline_.Remove("hello").ok()) << "idempotent";
  EXPECT_THAT(progress_.Results(), ElementsAre("remove=unchanged"));
  EXPECT_THAT(systemd_.calls(), IsEmpty());
  EXPECT_TRUE(pipeline_.Remove("never-deployed").ok());
}

TEST_F(PipelineTest, DeployAfterRemoveBringsTheUnitsBackWithoutABuild) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  ASSERT_TRUE(pipeline_.Remove("hello").ok());
  const int exports = git_.exports();
  processes_.Clear();
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  EXPECT_EQ(git_.exports(), exports);
  EXPECT_THAT(processes_.commands(), IsEmpty());
  EXPECT_TRUE(std::filesystem::exists(settings_.unit_dir + "/hello-web.service"));
  EXPECT_EQ(systemd_.GetUnitState("hello-web.service")->active_state, "active");
  const v1::AppState state = State();
  EXPECT_EQ(state.live().id(), "v1-111111111111");
  EXPECT_EQ(state.previous_size(), 0) << "the live release is not its own rollback target";
}

}  // namespace
}  // namespace pyservice::agent
