// The whole pipeline against fakes of systemd, git, processes and users, on
// a real file system in a temp dir.
#include "agent/install/pipeline.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "agent/install/release_layout.h"
#include "common/spec/app_spec_parser.h"
#include "common/spec/canonical.h"
#include "common/spec/template.h"
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
constexpr char kCommitV11[] = "1111111111112222222222222222222222222222";

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
    code2["pinned-requirements.txt"] = "requests==2.28.1\n";  // v2 needs its own environment
    git_.AddCommit("v2", kCommitV2, code2);
    testing::FakeGitFetcher::Tree same_deps = code;
    same_deps["hello/__init__.py"] = "VERSION = 11\n";  // v1's dependencies, new code
    git_.AddCommit("v1.1", kCommitV11, same_deps);
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
              Contains(absl::StrCat("/usr/bin/python3 -m venv --without-pip ", Root(),
                                    "/hello/app/releases/v1-111111111111/.venv")));
  ASSERT_FALSE(processes_.runs().empty());
  EXPECT_TRUE(processes_.runs()[0].run_as.has_value());
  const v1::AppState state = State();
  EXPECT_EQ(state.live().id(), "v1-111111111111");
  EXPECT_EQ(state.live().backend(), "venv");
  EXPECT_FALSE(state.has_in_flight());
}

// Nothing on the host was touched: no account, no tree, no state, no step.
#define EXPECT_HOST_UNTOUCHED()                                            \
  do {                                                                     \
    EXPECT_THAT(users_.created(), IsEmpty());                              \
    EXPECT_FALSE(std::filesystem::exists(Root()));                         \
    EXPECT_THAT(progress_.reports, IsEmpty());                             \
    absl::StatusOr<std::optional<v1::AppState>> state = store_.Load("hello"); \
    EXPECT_TRUE(state.ok() && !state->has_value());                        \
  } while (false)

TEST_F(PipelineTest, ExistingSystemAccountIsRefusedBeforeAnyStep) {
  users_.AddUser("pgapp", {108, 114, "/var/lib/postgresql", "PostgreSQL administrator"});
  DeployOutcome outcome;
  absl::Status status = pipeline_.Deploy(Spec("v1", "user: pgapp\n"), {}, &outcome);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("spec policy: user: \"pgapp\" is an existing system account (uid 108) "
                        "that pyservice did not create for this app"));
  EXPECT_EQ(outcome.failed_step, "policy");
  EXPECT_HOST_UNTOUCHED();
}

TEST_F(PipelineTest, ExistingSystemAccountPassesWhenThisHostsAdminAllowsIt) {
  users_.AddUser("pgapp", {108, 114, "/var/lib/postgresql", "PostgreSQL administrator"});
  settings_.spec_policy.allow_users = {"pgapp"};
  EXPECT_TRUE(pipeline_.Deploy(Spec("v1", "user: pgapp\n")).ok());
}

TEST_F(PipelineTest, PrivilegedExistingGroupIsRefusedBeforeAnyStep) {
  users_.AddGroup("webapps", {27, {"someone"}});
  DeployOutcome outcome;
  absl::Status status = pipeline_.Prepare(Spec("v1", "group: webapps\n"), {}, &outcome);
  EXPECT_THAT(status.message(),
              HasSubstr("spec policy: group: \"webapps\" is an existing system group (gid 27)"));
  EXPECT_EQ(outcome.failed_step, "policy");
  EXPECT_HOST_UNTOUCHED();
}

// What the controller sends is a proto: a spec that never met the parser
// (an older or a compromised controller) is checked field by field.
TEST_F(PipelineTest, HandMadeSpecWritingOutsideTheAppRootIsRefusedBeforeAnyStep) {
  v1::AppSpec spec = Spec("v1");
  spec.mutable_files(0)->set_dest("{{ app_root }}/../../../etc/cron.d/x");
  spec.mutable_services(0)->set_command(" ");
  spec.set_user("root");
  DeployOutcome outcome;
  absl::Status status = pipeline_.Deploy(spec, {}, &outcome);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("spec policy: files[0].dest: "));
  EXPECT_THAT(status.message(),
              HasSubstr("spec policy: services[0].command: must not be blank"));
  EXPECT_THAT(status.message(), HasSubstr("spec policy: user: \"root\" is not allowed"));
  EXPECT_EQ(outcome.failed_step, "policy");
  EXPECT_HOST_UNTOUCHED();
}

TEST_F(PipelineTest, TheAppsOwnUserPassesOnEveryLaterDeploy) {
  DeployV1ThenV2();
  EXPECT_THAT(users_.created(), Contains(HasSubstr("comment=User for hello service")));
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

TEST_F(PipelineTest, RepairRewritesOnlyTheDriftedUnitAndRestartsOnlyIt) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  const std::string unit = settings_.unit_dir + "/hello-web.service";
  const std::string before = Slurp(unit);
  std::ofstream(unit) << "[Service]\nExecStart=/bin/evil\n";
  systemd_.ClearCalls();
  progress_.reports.clear();
  ASSERT_TRUE(pipeline_.Repair("hello").ok());
  EXPECT_EQ(Slurp(unit), before);
  EXPECT_THAT(systemd_.calls(), Contains("Reload"));
  EXPECT_THAT(systemd_.calls(), Contains("Restart hello-web.service"));
  EXPECT_THAT(systemd_.calls(), Not(Contains("Restart hello-report.timer")));
  std::vector<std::string> notes;
  for (const StepProgress& p : progress_.reports) {
    if (!p.message.empty()) notes.push_back(absl::StrCat(p.step, ": ", p.message));
  }
  EXPECT_THAT(notes, ElementsAre(absl::StrCat("units: repaired ", unit,
                                              " (changed by hand); restarted hello-web.service"),
                                 "verify: 2 units healthy"))
      << "nothing else is written or restarted";
  EXPECT_EQ(State().last_result(), "deployed " + State().live().id()) << "a repair is no deploy";
}

TEST_F(PipelineTest, RepairRestoresAChangedFileAndRestartsTheServicesReadingIt) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  const std::string config = Root() + "/hello/app/config/config.yaml";
  const std::string before = Slurp(config);
  std::ofstream(config) << "port: 9999\n";
  systemd_.ClearCalls();
  ASSERT_TRUE(pipeline_.Repair("hello").ok());
  EXPECT_EQ(Slurp(config), before);
  EXPECT_THAT(systemd_.calls(), Contains("Restart hello-web.service"));
}

TEST_F(PipelineTest, RepairEnablesAUnitDisabledByHand) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  systemd_.DisableBehindOurBack("hello-web.service");
  systemd_.ClearCalls();
  ASSERT_TRUE(pipeline_.Repair("hello").ok());
  EXPECT_THAT(systemd_.calls(), Contains("Enable hello-web.service"));
}

TEST_F(PipelineTest, RepairPutsTheCodeSymlinkBackOnTheLiveRelease) {
  DeployV1ThenV2();
  const std::string live = LiveTarget();
  const std::string code = Root() + "/hello/app/code";
  std::filesystem::remove(code);
  std::filesystem::create_directory_symlink(ReleaseDir(*spec::ExpandSpec(Spec("v1")),
                                                       State().previous(0).id()),
                                            code);
  ASSERT_NE(LiveTarget(), live);
  ASSERT_TRUE(pipeline_.Repair("hello").ok());
  EXPECT_EQ(LiveTarget(), live);
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
  EXPECT_THAT(std::string(failed.message()),
              HasSubstr("environment: pip install -r pinned-requirements.txt -e . failed"));
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
  // The role's shared uv (GLOBAL_APP_ROOT/uv): the spec policy allows no
  // other place outside the app root.
  const std::string uv = Root() + "/uv";
  std::filesystem::create_directories(Root());
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

// uv_location in the app's tree: the app user can replace that binary, so
// root must not run it (it would run the app user's code as root).
TEST_F(PipelineTest, UvTheAppUserCanReplaceRunsAsTheAppUser) {
  const std::string uv = Root() + "/hello/app/uv/bin/uv";
  std::filesystem::create_directories(Root() + "/hello/app/uv/bin");
  std::ofstream(uv) << "#!/bin/sh\n";
  chmod(uv.c_str(), 0755);
  processes_.set_uv_version_output("uv 0.4.0\n");
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1", absl::StrCat("  uv_location: ", uv,
                                                        "\nuv_version: \"0.5.1\"\n"))).ok());
  int uv_runs = 0;
  for (const ProcessOptions& run : processes_.runs()) {
    if (run.argv[0] != uv) continue;
    ++uv_runs;
    EXPECT_TRUE(run.run_as.has_value()) << absl::StrJoin(run.argv, " ") << " ran as root";
  }
  EXPECT_EQ(uv_runs, 3) << "--version, self update, sync";
}

// A repo is untrusted: its pyproject.toml may be a symlink to anything
// root can read (/etc/shadow, /dev/zero). The environment step refuses it,
// naming the file, instead of reading through it as root.
TEST_F(PipelineTest, RepoFileThatIsASymlinkFailsTheEnvironmentStepNamingIt) {
  const std::string root_file = dir_.Join("root-only");
  std::ofstream(root_file) << "root:$6$secret\n";
  git_.AddCommit("linked", std::string(40, 'c'),
                 {{"pyproject.toml", absl::StrCat(testing::FakeGitFetcher::kSymlinkTo, root_file)},
                  {"pinned-requirements.txt", ""}});
  DeployOutcome outcome;
  const absl::Status status = pipeline_.Deploy(Spec("linked"), {}, &outcome);
  EXPECT_EQ(outcome.failed_step, "environment");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("releases/linked-cccccccccccc/pyproject.toml: not a regular file"));
}

// Every file under `dir` with its content, mode and owner, for "unchanged".
std::string Snapshot(const std::string& dir) {
  std::string all;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    struct stat info;
    lstat(entry.path().c_str(), &info);
    absl::StrAppend(&all, entry.path().string(), " ", info.st_mode, " ", info.st_uid, ":",
                    info.st_gid, " ", entry.is_regular_file() ? Slurp(entry.path()) : "", "\n");
  }
  return all;
}

// The app user swaps a directory of its tree for a symlink to root's files
// between two deploys. The next deploy, which writes everything anew (a new
// release, new secrets), fails naming the symlink and changes nothing
// outside the tree.
class SwappedDirectoryTest : public PipelineTest,
                             public ::testing::WithParamInterface<const char*> {};

TEST_P(SwappedDirectoryTest, NextDeployFailsAndNothingOutsideChanges) {
  const std::string outside = dir_.Join("root-files");
  std::filesystem::create_directories(outside + "/releases");
  std::ofstream(outside + "/shadow") << "root:$6$hash\n";
  std::ofstream(outside + "/ssh_key") << "root's key\n";
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  const std::string swapped = absl::StrCat(Root(), "/hello/", GetParam());
  std::filesystem::rename(swapped, swapped + ".moved");
  ASSERT_EQ(symlink(outside.c_str(), swapped.c_str()), 0);
  ASSERT_EQ(lchown(swapped.c_str(), 65534, 65534), 0) << "run as root (as the agent is)";
  const std::string before = Snapshot(outside);

  v1::AppSpec next = Spec("v2");
  next.mutable_files(0)->set_content("NEW-T0PS3CRET");
  const absl::Status status = pipeline_.Deploy(next);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr(swapped)) << status;
  EXPECT_EQ(Snapshot(outside), before);
}

INSTANTIATE_TEST_SUITE_P(AppUsersDirectories, SwappedDirectoryTest,
                         ::testing::Values("app", "app/config", "app/releases", "data"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return absl::StrReplaceAll(info.param, {{"/", "_"}});
                         });

TEST_F(PipelineTest, VenvBackendIsOneVenvWithoutPipThenOnePipRunForEverything) {
  settings_.pip_options = {"--no-index", "--find-links", "/srv/wheels"};
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  const std::string release = Root() + "/hello/app/releases/v1-111111111111";
  std::vector<ProcessOptions> builds;
  for (const ProcessOptions& run : processes_.runs()) {
    if (run.working_dir == release) builds.push_back(run);
  }
  ASSERT_EQ(builds.size(), 2u) << absl::StrJoin(processes_.commands(), "\n");
  EXPECT_EQ(absl::StrJoin(builds[0].argv, " "),
            absl::StrCat("/usr/bin/python3 -m venv --without-pip ", release, "/.venv"));
  EXPECT_EQ(absl::StrJoin(builds[1].argv, " "),
            absl::StrCat(release, "/.venv/bin/python -m pip install --ignore-installed "
                                  "--no-index --find-links /srv/wheels --no-build-isolation "
                                  "-r pinned-requirements.txt -e ."));
  // Debian's pip (and, offline, its setuptools and wheel) from the system.
  ASSERT_TRUE(builds[1].env.has_value());
  EXPECT_THAT(*builds[1].env, Contains("PYTHONPATH=/usr/lib/python3/dist-packages"));
  EXPECT_THAT(*builds[0].env, Not(Contains(HasSubstr("PYTHONPATH"))));
  for (const ProcessOptions& run : builds) EXPECT_TRUE(run.run_as.has_value()) << "as the app user";
}

TEST_F(PipelineTest, OnlineTheOnePipRunKeepsBuildIsolation) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  EXPECT_THAT(processes_.commands(),
              Contains(absl::StrCat(Root(), "/hello/app/releases/v1-111111111111/.venv/bin/python "
                                            "-m pip install --ignore-installed "
                                            "-r pinned-requirements.txt -e .")));
}

TEST_F(PipelineTest, ATagWithTheSameDependenciesReusesTheKeptEnvironmentWithoutPip) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  processes_.Clear();
  progress_.reports.clear();

  ASSERT_TRUE(pipeline_.Deploy(Spec("v1.1")).ok());

  EXPECT_THAT(processes_.commands(), Not(Contains(HasSubstr("venv"))));
  EXPECT_THAT(processes_.commands(), Not(Contains(HasSubstr("pip"))));
  const std::string release = Root() + "/hello/app/releases/v1.1-111111111111";
  EXPECT_TRUE(std::filesystem::is_directory(release + "/.venv/bin"));
  EXPECT_EQ(Slurp(release + "/.pyservice-environment"),
            Slurp(Root() + "/hello/app/releases/v1-111111111111/.pyservice-environment"));
  bool noted = false;
  for (const StepProgress& p : progress_.reports) {
    noted = noted || (p.step == "environment" &&
                      absl::StrContains(p.message, "reused the environment of v1-111111111111"));
  }
  EXPECT_TRUE(noted);
  EXPECT_EQ(LiveTarget(), release);
}

TEST_F(PipelineTest, ChangedRequirementsOrPyprojectRebuildTheEnvironment) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  processes_.Clear();
  ASSERT_TRUE(pipeline_.Deploy(Spec("v2")).ok());  // pinned-requirements.txt differs
  EXPECT_THAT(processes_.commands(), Contains(HasSubstr("-m venv --without-pip")));
  EXPECT_THAT(processes_.commands(), Contains(HasSubstr("-m pip install")));

  git_.AddCommit("v1-toml", std::string(40, '4'),
                 {{"pyproject.toml", "[project]\nname = \"hello\"\nversion = \"2\"\n"},
                  {"pinned-requirements.txt", ""},
                  {"hello/__init__.py", "VERSION = 1\n"}});
  processes_.Clear();
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1-toml")).ok());
  EXPECT_THAT(processes_.commands(), Contains(HasSubstr("-m pip install")));
}

TEST_F(PipelineTest, AnEnvironmentWhoseRebuildFailedIsNeverLent) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  // Other pip options: v1's environment is rebuilt in place, and that fails
  // half way.
  settings_.pip_options = {"--no-index"};
  processes_.FailWhenArgumentIs("pinned-requirements.txt");
  ASSERT_FALSE(pipeline_.Deploy(Spec("v1")).ok());
  // Back to v1's first inputs: v1.1 must not take v1's half-built .venv.
  settings_.pip_options = {};
  processes_.FailWhenArgumentIs("");
  processes_.Clear();
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1.1")).ok());
  EXPECT_THAT(processes_.commands(), Contains(HasSubstr("-m pip install")));
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

TEST_F(PipelineTest, CancelKillsAHangingBuildAtOnceAndLeavesTheLiveReleaseAlone) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  processes_.HangWhenArgumentIs("pinned-requirements.txt");
  std::atomic<bool> canceled = false;
  DeployOptions options;
  options.canceled = [&] { return canceled.load(); };
  DeployOutcome outcome;
  absl::Status status;
  std::thread deploy([&] { status = pipeline_.Deploy(Spec("v2"), options, &outcome); });
  EXPECT_TRUE(processes_.WaitUntilHanging());
  canceled = true;  // while pip install runs: not at a step boundary
  deploy.join();
  EXPECT_EQ(processes_.killed(), 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
  EXPECT_EQ(status.message(), "environment: canceled");
  EXPECT_EQ(outcome.failed_step, "environment");
  EXPECT_EQ(progress_.reports.back().message, "canceled");
  EXPECT_EQ(LiveTarget(), Root() + "/hello/app/releases/v1-111111111111");
}

TEST_F(PipelineTest, BuildCommandsAndTheFetchCarryTheConfiguredDeadlines) {
  settings_.environment_timeout = absl::Minutes(7);
  settings_.fetch_timeout = absl::Minutes(3);
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  ASSERT_FALSE(processes_.runs().empty());
  for (const ProcessOptions& run : processes_.runs()) {
    EXPECT_EQ(run.timeout, absl::Minutes(7)) << run.argv[0];
    EXPECT_TRUE(run.canceled) << run.argv[0];
  }
  EXPECT_EQ(git_.last_request().timeout, absl::Minutes(3));
  EXPECT_TRUE(git_.last_request().canceled);
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

TEST_F(PipelineTest, RemoveStopsDisablesAndDeletesUnitsButKeepsTheReleases) {
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

// Every regular file under `dir` whose content holds `needle`.
std::vector<std::string> FilesHolding(const std::string& dir, const std::string& needle) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && !entry.is_symlink() &&
        absl::StrContains(Slurp(entry.path().string()), needle)) {
      found.push_back(entry.path().string());
    }
  }
  return found;
}

TEST_F(PipelineTest, RemoveLeavesNoByteOfAnySecretInTheAppTreeOrTheState) {
  DeployV1ThenV2();  // v1's spec is kept too, with the same secrets
  for (const char* secret : {"S3CR3TKEY", "T0PS3CRET", "HUNT3R2"}) {
    ASSERT_THAT(FilesHolding(dir_.path(), secret), Not(IsEmpty()))
        << secret << " is written (else this test checks nothing)";
  }

  ASSERT_TRUE(pipeline_.Remove("hello").ok());

  for (const char* secret : {"S3CR3TKEY", "T0PS3CRET", "HUNT3R2"}) {
    EXPECT_THAT(FilesHolding(Root(), secret), IsEmpty()) << secret;
    EXPECT_THAT(FilesHolding(settings_.state_dir, secret), IsEmpty()) << secret;
  }
  EXPECT_FALSE(std::filesystem::exists(Root() + "/hello/app/config/ssh_key"));
  EXPECT_FALSE(std::filesystem::exists(Root() + "/hello/app/config/token"));
  EXPECT_FALSE(std::filesystem::exists(Root() + "/hello/app/config/config.yaml"));
  EXPECT_TRUE(State().files().empty()) << "nothing written is left on the record";
}

TEST_F(PipelineTest, RemoveDeletesTheGitMirrorWhoseConfigHoldsTheRepoUrl) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  const std::string mirror = MirrorDir(settings_.state_dir, "hello");
  std::filesystem::create_directories(mirror);
  std::ofstream(mirror + "/config") << "url = https://deploy:R3P0T0KEN@git.example/hello.git\n";
  ASSERT_TRUE(pipeline_.Remove("hello").ok());
  EXPECT_FALSE(std::filesystem::exists(mirror));
}

TEST_F(PipelineTest, RollbackAfterRemoveIsRefusedForItsSpecIsGone) {
  DeployV1ThenV2();
  ASSERT_TRUE(pipeline_.Remove("hello").ok());
  const absl::Status status = pipeline_.Rollback("hello");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("it was removed: deploy it again"));
}

TEST_F(PipelineTest, DeployAfterRemoveWritesTheSecretsAgain) {
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  ASSERT_TRUE(pipeline_.Remove("hello").ok());
  ASSERT_TRUE(pipeline_.Deploy(Spec("v1")).ok());
  EXPECT_THAT(Slurp(Root() + "/hello/app/config/ssh_key"), HasSubstr("S3CR3TKEY"));
  EXPECT_EQ(Slurp(Root() + "/hello/app/config/token"), "T0PS3CRET");
  EXPECT_THAT(Slurp(Root() + "/hello/app/config/config.yaml"), HasSubstr("HUNT3R2"));
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
