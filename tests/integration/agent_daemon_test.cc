// The agent daemon against a fake controller: AgentService implemented
// here, served in-process over a Unix socket in a temp dir, and the real
// daemon code (connection, workers, pipeline, health watcher) on fakes of
// systemd, git, processes and users, with a real file system in a temp dir.
#include "agent/daemon/agent_daemon.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/install/pipeline.h"
#include "common/spec/app_spec_parser.h"
#include "common/spec/canonical.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pyservice/v1/agent.grpc.pb.h"
#include "tests/testing/fake_agent_controller.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_git_fetcher.h"
#include "tests/testing/fake_process_runner.h"
#include "tests/testing/fake_systemd_manager.h"
#include "tests/testing/fake_user_manager.h"
#include "tests/testing/log_capture.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::agent {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

using testing::AgentMessageMatch;
using testing::FakeController;
using testing::FakeControllerServer;
using testing::HealthOf;
using testing::kAgentWait;
using testing::ResultOf;

constexpr char kCommitV1[] = "1111111111111111111111111111111111111111";
constexpr char kCommitV2[] = "2222222222222222222222222222222222222222";

// Process runs whose argv mentions `word` wait until the test opens the
// gate: a deploy held in its environment step.
class GatedProcessRunner final : public ProcessRunner {
 public:
  GatedProcessRunner(ProcessRunner& inner, std::string word)
      : inner_(inner), word_(std::move(word)) {}

  absl::StatusOr<ProcessResult> Run(const ProcessOptions& options) override {
    bool gated = false;
    for (const std::string& arg : options.argv) gated = gated || absl::StrContains(arg, word_);
    if (gated) {
      absl::MutexLock lock(&mu_);
      ++waiting_;
      mu_.Await(absl::Condition(&open_));
      --waiting_;
    }
    return inner_.Run(options);
  }

  void Close() {
    absl::MutexLock lock(&mu_);
    open_ = false;
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  // Waits until a run waits at the gate.
  bool WaitUntilHeld() {
    absl::MutexLock lock(&mu_);
    auto held = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return waiting_ > 0; };
    return mu_.AwaitWithTimeout(absl::Condition(&held), kAgentWait);
  }

 private:
  ProcessRunner& inner_;
  const std::string word_;
  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
};

// systemd whose units crash when started while the live release (the code
// symlink's target) contains `crash_release`: one broken build, while its
// predecessor still starts fine on rollback.
class ReleaseCrashingSystemd final : public SystemdManager {
 public:
  ReleaseCrashingSystemd(testing::FakeSystemdManager& inner, std::string code_link,
                         const std::string& crash_release)
      : inner_(inner), code_link_(std::move(code_link)), crash_release_(crash_release) {}

  absl::Status Reload() override { return inner_.Reload(); }
  absl::Status StartUnit(const std::string& unit, absl::Duration timeout) override {
    Arm();
    return inner_.StartUnit(unit, timeout);
  }
  absl::Status StopUnit(const std::string& unit, absl::Duration timeout) override {
    return inner_.StopUnit(unit, timeout);
  }
  absl::Status RestartUnit(const std::string& unit, absl::Duration timeout) override {
    Arm();
    return inner_.RestartUnit(unit, timeout);
  }
  absl::Status EnableUnitFiles(const std::vector<std::string>& units) override {
    return inner_.EnableUnitFiles(units);
  }
  absl::Status DisableUnitFiles(const std::vector<std::string>& units) override {
    return inner_.DisableUnitFiles(units);
  }
  absl::StatusOr<UnitState> GetUnitState(const std::string& unit) override {
    return inner_.GetUnitState(unit);
  }
  absl::StatusOr<std::vector<std::string>> JournalTail(const std::string& unit,
                                                       int lines) override {
    return inner_.JournalTail(unit, lines);
  }
  absl::StatusOr<std::unique_ptr<UnitWatch>> WatchUnits(const std::vector<std::string>& units,
                                                        UnitChangeCallback on_change) override {
    return inner_.WatchUnits(units, std::move(on_change));
  }

 private:
  void Arm() {
    std::error_code error;
    const std::string live = std::filesystem::read_symlink(code_link_, error).string();
    inner_.set_crash_on_start(!crash_release_.empty() && absl::StrContains(live, crash_release_));
  }

  testing::FakeSystemdManager& inner_;
  const std::string code_link_;
  const std::string& crash_release_;
};

class NullProgress final : public ProgressSink {
 public:
  void Report(const StepProgress&) override {}
};

class AgentDaemonTest : public ::testing::Test {
 protected:
  AgentDaemonTest()
      : fake_systemd_(clock_),
        systemd_(fake_systemd_, dir_.Join("applications/hello/app/code"), crash_release_),
        gated_(processes_, "/hello/app/releases/"),
        host_{systemd_, git_,   gated_,
              users_,   clock_, [this](absl::Duration d) { clock_.Advance(d); }},
        socket_(dir_.Join("controller.sock")) {
    settings_.state_dir = dir_.Join("state");
    settings_.unit_dir = dir_.Join("units");
    std::filesystem::create_directories(settings_.unit_dir);
    const testing::FakeGitFetcher::Tree code = {{"pyproject.toml", "[project]\nname = \"hello\"\n"},
                                                {"pinned-requirements.txt", ""},
                                                {"hello/__init__.py", "VERSION = 1\n"}};
    git_.AddCommit("v1", kCommitV1, code);
    testing::FakeGitFetcher::Tree code2 = code;
    code2["hello/__init__.py"] = "VERSION = 2\n";
    code2["pinned-requirements.txt"] = "requests==2.28.1\n";  // v2 needs its own environment
    git_.AddCommit("v2", kCommitV2, code2);
  }

  void SetUp() override { StartController(); }
  void TearDown() override {
    gated_.Open();
    StopDaemon();
    server_.reset();
  }

  void StartController() { server_ = std::make_unique<FakeControllerServer>(socket_); }
  FakeController& controller() { return server_->controller(); }

  void StartDaemon(int max_receive_message_bytes = ConnectionOptions().max_receive_message_bytes,
                   const std::string& address = "") {
    DaemonOptions options;
    options.connection.max_receive_message_bytes = max_receive_message_bytes;
    options.connection.address = address.empty() ? "unix:" + socket_ : address;
    options.connection.backoff.initial = absl::Milliseconds(20);
    options.connection.backoff.max = absl::Milliseconds(200);
    options.host = "h1";
    options.labels = {{"role", "web"}, {"zone", "a"}};
    options.connection.session.welcome_timeout = absl::Milliseconds(300);
    options.health_push_interval = absl::Milliseconds(10);
    options.random = [] { return 0.5; };
    daemon_ = std::make_unique<AgentDaemon>(std::move(options), host_, settings_);
    thread_ = std::thread([this] { run_status_ = daemon_->Run(); });
  }
  void StopDaemon() {
    if (daemon_ == nullptr) return;
    daemon_->Stop();
    thread_.join();
    EXPECT_TRUE(run_status_.ok()) << run_status_;
    daemon_.reset();
  }

  v1::AppSpec Spec(const std::string& tag, const std::string& name = "hello") {
    const std::string yaml = absl::StrCat(
        "name: ", name, "\nrepo: file:///srv/git/hello.git\ntag: ", tag, "\n",
        "services:\n  - name: web\n    command: \"python -m hello web\"\n",
        "timers:\n  - name: report\n    schedule: daily\n    command: python -m hello report\n",
        "config:\n  port: 8000\n", "paths:\n  global_app_root: ", dir_.Join("applications"), "\n");
    absl::StatusOr<v1::AppSpec> spec = spec::ParseAppSpec(yaml, "app.yaml");
    EXPECT_TRUE(spec.ok()) << spec.status();
    return *spec;
  }

  // The digest a controller sends with `spec`: keyed, so the agent can
  // only repeat it.
  static std::string ControllerDigest(const v1::AppSpec& spec,
                                      const std::string& key = "controller key") {
    return spec::SpecDigest(spec, spec::SecretFingerprinter(key));
  }

  // What the controller sends to deploy `spec` as `revision` (`digest`: the
  // controller's digest of it; ControllerDigest by default).
  bool SendDeploy(uint64_t id, uint32_t revision, const v1::AppSpec& spec,
                  bool prepare_only = false, std::optional<std::string> digest = {}) {
    v1::ControllerMessage message;
    message.mutable_deploy()->set_deploy_id(id);
    message.mutable_deploy()->set_revision(revision);
    *message.mutable_deploy()->mutable_spec() = spec;
    message.mutable_deploy()->set_prepare_only(prepare_only);
    message.mutable_deploy()->set_spec_digest(digest.value_or(ControllerDigest(spec)));
    return controller().Send(message);
  }

  v1::DeployResult WaitForResult(uint64_t id) {
    std::optional<v1::AgentMessage> result = controller().WaitFor(ResultOf(id));
    EXPECT_TRUE(result.has_value()) << "no result of deploy " << id;
    return result ? result->result() : v1::DeployResult();
  }

  // "step=STATE" of deploy `id`'s progress, in order.
  std::vector<std::string> Progress(uint64_t id) {
    std::vector<std::string> steps;
    for (const v1::AgentMessage& m : controller().Received()) {
      if (m.has_progress() && m.progress().deploy_id() == id) {
        steps.push_back(
            absl::StrCat(m.progress().step(), "=", v1::StepState_Name(m.progress().state())));
      }
    }
    return steps;
  }

  v1::Hello WaitForHello(FakeController& controller) {
    std::optional<v1::AgentMessage> hello =
        controller.WaitFor([](const v1::AgentMessage& m) { return m.has_hello(); });
    EXPECT_TRUE(hello.has_value()) << "no Hello";
    return hello ? hello->hello() : v1::Hello();
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  testing::FakeSystemdManager fake_systemd_;
  std::string crash_release_;  // set before the daemon runs the deploy
  ReleaseCrashingSystemd systemd_;
  testing::FakeGitFetcher git_;
  testing::FakeProcessRunner processes_;
  GatedProcessRunner gated_;
  testing::FakeUserManager users_;
  HostServices host_;
  AgentSettings settings_;
  const std::string socket_;
  std::unique_ptr<FakeControllerServer> server_;
  std::unique_ptr<AgentDaemon> daemon_;
  std::thread thread_;
  absl::Status run_status_;
};

TEST_F(AgentDaemonTest, HelloCarriesHostLabelsVersionAndWhatTheStateDirRuns) {
  // Deployed before the agent starts (an earlier run of it), as revision 5.
  {
    StateStore store(settings_.state_dir);
    NullProgress progress;
    Pipeline pipeline(host_, settings_, store, progress);
    DeployOptions options;
    options.revision = 5;
    ASSERT_TRUE(pipeline.Deploy(Spec("v1"), options).ok());
  }
  StartDaemon();
  const v1::Hello hello = WaitForHello(controller());
  EXPECT_EQ(hello.host(), "h1");
  EXPECT_THAT(hello.labels(), UnorderedElementsAre(Pair("role", "web"), Pair("zone", "a")));
  EXPECT_EQ(hello.agent_version(), AgentDaemon::Version());
  EXPECT_FALSE(hello.agent_version().empty());
  ASSERT_EQ(hello.apps_size(), 1);
  const v1::AppHealth& app = hello.apps(0);
  EXPECT_EQ(app.app(), "hello");
  EXPECT_EQ(app.revision(), 5u);
  EXPECT_EQ(app.tag(), "v1");
  EXPECT_EQ(app.commit(), kCommitV1);
  EXPECT_EQ(app.spec_digest(), spec::UnkeyedSpecDigest(Spec("v1")))
      << "the exact digest of a local deploy";
  EXPECT_EQ(app.health(), v1::HEALTH_STATE_HEALTHY);
  ASSERT_EQ(app.units_size(), 3);
  EXPECT_EQ(app.units(0).unit(), "hello-web.service");
  EXPECT_EQ(app.units(0).active_state(), "active");
  EXPECT_EQ(app.units(0).sub_state(), "running");
  EXPECT_EQ(controller().Received()[0].message_case(), v1::AgentMessage::kHello)
      << "Hello is the first message";
}

TEST_F(AgentDaemonTest, ADeployRequestOverTheReceiveLimitIsRefusedAndLoggedAsAnError) {
  testing::LogCapture log;
  StartDaemon(/*max_receive_message_bytes=*/256 << 10);
  WaitForHello(controller());
  v1::AppSpec big = Spec("v1");
  v1::File& file = *big.add_files();
  file.set_dest(dir_.Join("applications/big.bin"));
  file.set_content(std::string(300 << 10, 'b'));
  SendDeploy(1, 1, big);  // may fail: the agent ends the stream
  // The stream ends and the agent dials again: a second Hello.
  ASSERT_TRUE(controller()
                  .WaitForNth([](const v1::AgentMessage& m) { return m.has_hello(); }, 2)
                  .has_value());
  for (const v1::AgentMessage& m : controller().Received()) {
    EXPECT_FALSE(m.has_result() || m.has_progress()) << "the deploy ran: " << m.DebugString();
  }
  StopDaemon();
  const std::string text = log.Text();
  EXPECT_THAT(text, HasSubstr("error stream to the controller unix:" + socket_ +
                              " ended by a limit (this agent accepts messages of at most "
                              "262144 bytes)"));
  EXPECT_THAT(text, HasSubstr("RESOURCE_EXHAUSTED"));
}

TEST_F(AgentDaemonTest, HeartbeatsFollowTheWelcome) {
  StartDaemon();
  WaitForHello(controller());
  for (uint64_t sequence = 1; sequence <= 3; ++sequence) {
    EXPECT_TRUE(controller().WaitFor([sequence](const v1::AgentMessage& m) {
      return m.has_heartbeat() && m.heartbeat().sequence() == sequence;
    })) << "heartbeat "
        << sequence;
  }
}

TEST_F(AgentDaemonTest, DeployStreamsEveryStepAndEndsWithTheResult) {
  StartDaemon();
  ASSERT_TRUE(SendDeploy(11, 1, Spec("v1")));
  const v1::DeployResult result = WaitForResult(11);
  EXPECT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result.app(), "hello");
  EXPECT_EQ(result.failed_step(), "");
  EXPECT_FALSE(result.rolled_back());
  EXPECT_EQ(result.live().revision(), 1u);
  EXPECT_EQ(result.live().commit(), kCommitV1);
  EXPECT_EQ(result.live().spec_digest(), ControllerDigest(Spec("v1")));
  EXPECT_EQ(result.live().health(), v1::HEALTH_STATE_HEALTHY);
  EXPECT_EQ(result.live().units_size(), 3);
  EXPECT_THAT(
      Progress(11),
      ElementsAre("user=STEP_STATE_RUNNING", "user=STEP_STATE_DONE",
                  "directories=STEP_STATE_RUNNING", "directories=STEP_STATE_DONE",
                  "ssh-key=STEP_STATE_RUNNING", "ssh-key=STEP_STATE_UNCHANGED",
                  "checkout=STEP_STATE_RUNNING", "checkout=STEP_STATE_DONE",
                  "environment=STEP_STATE_RUNNING", "environment=STEP_STATE_DONE",
                  "files=STEP_STATE_RUNNING", "files=STEP_STATE_UNCHANGED",
                  "config=STEP_STATE_RUNNING", "config=STEP_STATE_DONE",
                  "switch=STEP_STATE_RUNNING", "switch=STEP_STATE_DONE", "units=STEP_STATE_RUNNING",
                  "units=STEP_STATE_DONE", "verify=STEP_STATE_RUNNING", "verify=STEP_STATE_DONE"));
  const int progressing = controller().IndexOf(HealthOf("hello", v1::HEALTH_STATE_PROGRESSING));
  EXPECT_GE(progressing, 0) << "PROGRESSING pushed while the deploy ran";
  EXPECT_LT(progressing, controller().IndexOf(ResultOf(11)));
  EXPECT_TRUE(std::filesystem::exists(settings_.unit_dir + "/hello-web.service"));
}

TEST_F(AgentDaemonTest, PolicyViolatingDeployIsRefusedBeforeAnyStepNamingTheField) {
  users_.AddUser("pgapp", {108, 114, "/var/lib/postgresql", "PostgreSQL administrator"});
  StartDaemon();
  v1::AppSpec spec = Spec("v1");
  spec.set_user("pgapp");  // as a controller without the policy would send it
  ASSERT_TRUE(SendDeploy(5, 1, spec));
  const v1::DeployResult result = WaitForResult(5);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.failed_step(), "policy");
  EXPECT_THAT(result.error(),
              HasSubstr("spec policy: user: \"pgapp\" is an existing system account (uid 108)"));
  EXPECT_THAT(Progress(5), IsEmpty()) << "no step ran";
  EXPECT_THAT(users_.created(), IsEmpty());
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("applications")));
}

TEST_F(AgentDaemonTest, FailedDeployNamesTheStepAndKeepsThePreviousRelease) {
  StartDaemon();
  ASSERT_TRUE(SendDeploy(1, 1, Spec("v1")));
  ASSERT_TRUE(WaitForResult(1).ok());
  processes_.FailWhenArgumentIs("pinned-requirements.txt");
  ASSERT_TRUE(SendDeploy(2, 2, Spec("v2")));
  const v1::DeployResult result = WaitForResult(2);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.failed_step(), "environment");
  EXPECT_THAT(result.error(), HasSubstr("environment: pip install -r pinned-requirements.txt"));
  EXPECT_FALSE(result.rolled_back()) << "it failed before the switch";
  EXPECT_EQ(result.live().revision(), 1u) << "v1 still live";
  EXPECT_EQ(result.live().spec_digest(), ControllerDigest(Spec("v1")));
  EXPECT_EQ(result.live().health(), v1::HEALTH_STATE_HEALTHY) << "v1 runs as before";
  EXPECT_THAT(result.live().message(), HasSubstr("environment")) << "the failure is still said";
  EXPECT_THAT(Progress(2), Contains("environment=STEP_STATE_FAILED"));
}

TEST_F(AgentDaemonTest, FailedVerifyIsRolledBackAndSaysSo) {
  StartDaemon();
  ASSERT_TRUE(SendDeploy(1, 1, Spec("v1")));
  ASSERT_TRUE(WaitForResult(1).ok());
  crash_release_ = "v2-";  // a broken build: its units crash
  ASSERT_TRUE(SendDeploy(2, 2, Spec("v2")));
  const v1::DeployResult result = WaitForResult(2);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.failed_step(), "verify");
  EXPECT_THAT(result.error(), HasSubstr("verify: hello-web.service is failed"));
  EXPECT_THAT(result.error(), HasSubstr("rolled back to v1-111111111111"));
  EXPECT_TRUE(result.rolled_back());
  EXPECT_EQ(result.live().revision(), 1u);
  EXPECT_EQ(result.live().spec_digest(), ControllerDigest(Spec("v1")));
  EXPECT_EQ(result.live().units(0).active_state(), "active") << "v1 runs again";
}

TEST_F(AgentDaemonTest, ARequestForWhatIsLiveAndHealthyIsAnsweredWithoutRunningAnything) {
  StartDaemon();
  ASSERT_TRUE(SendDeploy(1, 1, Spec("v1")));
  ASSERT_TRUE(WaitForResult(1).ok());
  const int fetches = git_.fetches();
  fake_systemd_.ClearCalls();
  ASSERT_TRUE(SendDeploy(2, 3, Spec("v1")));  // the same spec, renumbered
  const v1::DeployResult result = WaitForResult(2);
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.live().revision(), 3u) << "the new number is recorded";
  EXPECT_EQ(result.live().health(), v1::HEALTH_STATE_HEALTHY);
  EXPECT_THAT(Progress(2), IsEmpty()) << "the pipeline did not run";
  EXPECT_EQ(git_.fetches(), fetches);
  EXPECT_THAT(fake_systemd_.calls(), IsEmpty());
}

TEST_F(AgentDaemonTest, TheLiveSpecUnderANewDigestIsAnsweredAtOnceAndReportedByIt) {
  // A controller that changed how it digests (keyed digests after an
  // upgrade, a new key) asks again for what runs: nothing runs, and from
  // then on the host reports the new digest, so it is not asked again.
  StartDaemon();
  ASSERT_TRUE(SendDeploy(1, 1, Spec("v1"), false, spec::UnkeyedSpecDigest(Spec("v1"))));
  ASSERT_TRUE(WaitForResult(1).ok());
  const int fetches = git_.fetches();
  fake_systemd_.ClearCalls();
  const std::string rekeyed = ControllerDigest(Spec("v1"), "another key");
  ASSERT_TRUE(SendDeploy(2, 1, Spec("v1"), false, rekeyed));
  const v1::DeployResult result = WaitForResult(2);
  EXPECT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result.live().spec_digest(), rekeyed);
  EXPECT_THAT(Progress(2), IsEmpty()) << "the pipeline did not run";
  EXPECT_EQ(git_.fetches(), fetches);
  EXPECT_THAT(fake_systemd_.calls(), IsEmpty());
  server_.reset();
  StartController();
  const v1::Hello hello = WaitForHello(controller());
  ASSERT_EQ(hello.apps_size(), 1);
  EXPECT_EQ(hello.apps(0).spec_digest(), rekeyed) << "recorded, not only answered";
}

TEST_F(AgentDaemonTest, ARequestWithoutADigestIsReportedByTheAgentsOwn) {
  // From a controller that predates keyed digests.
  StartDaemon();
  ASSERT_TRUE(SendDeploy(1, 1, Spec("v1"), false, ""));
  const v1::DeployResult result = WaitForResult(1);
  EXPECT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result.live().spec_digest(), spec::UnkeyedSpecDigest(Spec("v1")));
}

TEST_F(AgentDaemonTest, PrepareOnlyBuildsAndALaterDeploySwitches) {
  StartDaemon();
  ASSERT_TRUE(SendDeploy(1, 1, Spec("v1")));
  ASSERT_TRUE(WaitForResult(1).ok());
  ASSERT_TRUE(SendDeploy(2, 2, Spec("v2"), /*prepare_only=*/true));
  const v1::DeployResult prepared = WaitForResult(2);
  EXPECT_TRUE(prepared.ok()) << prepared.error();
  EXPECT_EQ(prepared.live().revision(), 1u) << "v1 still live";
  EXPECT_THAT(Progress(2), IsEmpty()) << "a prepare sends its result alone";
  const int exports = git_.exports();
  ASSERT_TRUE(SendDeploy(3, 2, Spec("v2")));
  const v1::DeployResult deployed = WaitForResult(3);
  EXPECT_TRUE(deployed.ok()) << deployed.error();
  EXPECT_EQ(deployed.live().revision(), 2u);
  EXPECT_EQ(git_.exports(), exports) << "nothing exported again";
}

TEST_F(AgentDaemonTest, RemoveTakesTheUnitsAwayAndTheAppOutOfTheHello) {
  StartDaemon();
  ASSERT_TRUE(SendDeploy(1, 1, Spec("v1")));
  ASSERT_TRUE(WaitForResult(1).ok());
  v1::ControllerMessage remove;
  remove.mutable_remove()->set_deploy_id(2);
  remove.mutable_remove()->set_app("hello");
  ASSERT_TRUE(controller().Send(remove));
  const v1::DeployResult result = WaitForResult(2);
  EXPECT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result.live().app(), "hello");
  EXPECT_EQ(result.live().spec_digest(), "") << "nothing live";
  EXPECT_THAT(Progress(2), ElementsAre("remove=STEP_STATE_RUNNING", "remove=STEP_STATE_DONE"));
  EXPECT_FALSE(std::filesystem::exists(settings_.unit_dir + "/hello-web.service"));
  EXPECT_EQ(systemd_.GetUnitState("hello-web.service")->active_state, "inactive");

  // A new stream's Hello no longer lists it.
  server_.reset();
  StartController();
  EXPECT_EQ(WaitForHello(controller()).apps_size(), 0);
}

TEST_F(AgentDaemonTest, CancelStopsARunningDeployAtTheNextStep) {
  StartDaemon();
  gated_.Close();
  ASSERT_TRUE(SendDeploy(7, 1, Spec("v1")));
  ASSERT_TRUE(gated_.WaitUntilHeld()) << "the deploy reached its environment step";
  v1::ControllerMessage cancel;
  cancel.mutable_cancel()->set_deploy_id(7);
  ASSERT_TRUE(controller().Send(cancel));
  // The agent reads its stream in order: once another app's deploy, sent
  // after the cancel, is answered, the cancel has been taken.
  ASSERT_TRUE(SendDeploy(8, 1, Spec("v1", "other")));
  ASSERT_TRUE(WaitForResult(8).ok());
  gated_.Open();
  const v1::DeployResult result = WaitForResult(7);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.failed_step(), "files");
  EXPECT_EQ(result.error(), "files: canceled");
  EXPECT_FALSE(result.rolled_back()) << "nothing was live before";
  EXPECT_THAT(Progress(7), Contains("environment=STEP_STATE_DONE"));
  EXPECT_FALSE(std::filesystem::exists(settings_.unit_dir + "/hello-web.service"));
}

TEST_F(AgentDaemonTest, CancelKillsAHangingBuildAtOnce_AndTheNextRequestRuns) {
  StartDaemon();
  ASSERT_TRUE(SendDeploy(1, 1, Spec("v1")));
  ASSERT_TRUE(WaitForResult(1).ok());
  processes_.HangWhenArgumentIs("pinned-requirements.txt");
  ASSERT_TRUE(SendDeploy(2, 2, Spec("v2")));
  ASSERT_TRUE(processes_.WaitUntilHanging()) << "v2's pip install hangs";
  processes_.HangWhenArgumentIs("");
  // What the controller sends when it wants v1 back: the cancel, then v1.
  v1::ControllerMessage cancel;
  cancel.mutable_cancel()->set_deploy_id(2);
  ASSERT_TRUE(controller().Send(cancel));
  ASSERT_TRUE(SendDeploy(3, 1, Spec("v1")));
  const v1::DeployResult canceled = WaitForResult(2);
  EXPECT_FALSE(canceled.ok());
  EXPECT_EQ(canceled.failed_step(), "environment");
  EXPECT_EQ(canceled.error(), "environment: canceled");
  EXPECT_EQ(processes_.killed(), 1);
  const v1::DeployResult back = WaitForResult(3);
  EXPECT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back.live().revision(), 1u);
}

TEST_F(AgentDaemonTest, QueuedRequestsAreReplacedOrCanceledAndOtherAppsRunMeanwhile) {
  StartDaemon();
  gated_.Close();
  ASSERT_TRUE(SendDeploy(1, 1, Spec("v1")));
  ASSERT_TRUE(gated_.WaitUntilHeld());
  ASSERT_TRUE(SendDeploy(2, 2, Spec("v2")));  // waits behind 1
  ASSERT_TRUE(SendDeploy(3, 2, Spec("v2")));  // replaces 2
  const v1::DeployResult superseded = WaitForResult(2);
  EXPECT_FALSE(superseded.ok());
  EXPECT_EQ(superseded.error(), "superseded by 3");
  v1::ControllerMessage cancel;
  cancel.mutable_cancel()->set_deploy_id(3);
  ASSERT_TRUE(controller().Send(cancel));
  const v1::DeployResult canceled = WaitForResult(3);
  EXPECT_FALSE(canceled.ok());
  EXPECT_EQ(canceled.error(), "canceled");
  EXPECT_THAT(Progress(3), IsEmpty());
  // Another app is not held up by hello's deploy.
  ASSERT_TRUE(SendDeploy(4, 1, Spec("v1", "other")));
  const v1::DeployResult other = WaitForResult(4);
  EXPECT_TRUE(other.ok()) << other.error();
  EXPECT_EQ(controller().IndexOf(ResultOf(1)), -1) << "hello's deploy still runs";
  gated_.Open();
  EXPECT_TRUE(WaitForResult(1).ok());
}

TEST_F(AgentDaemonTest, UnitChangesArePushedAsHealth) {
  StartDaemon();
  ASSERT_TRUE(SendDeploy(1, 1, Spec("v1")));
  ASSERT_TRUE(WaitForResult(1).ok());
  fake_systemd_.SetUnitState("hello-web.service", "failed", "failed");
  std::optional<v1::AgentMessage> failed =
      controller().WaitFor(HealthOf("hello", v1::HEALTH_STATE_FAILED));
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->health().units(0).unit(), "hello-web.service");
  EXPECT_EQ(failed->health().units(0).active_state(), "failed");
  EXPECT_EQ(failed->health().message(), "hello-web.service is failed/failed");
  EXPECT_EQ(failed->health().spec_digest(), ControllerDigest(Spec("v1")));

  fake_systemd_.SetUnitState("hello-web.service", "activating", "auto-restart");
  EXPECT_TRUE(controller().WaitFor(HealthOf("hello", v1::HEALTH_STATE_DEGRADED)));
  const size_t before = controller().All(HealthOf("hello", v1::HEALTH_STATE_HEALTHY)).size();
  fake_systemd_.SetUnitState("hello-web.service", "active", "running");
  EXPECT_TRUE(controller().WaitForNth(HealthOf("hello", v1::HEALTH_STATE_HEALTHY), before + 1))
      << "recovered";
}

TEST_F(AgentDaemonTest, ReconnectsAfterTheControllerRestartsAndRedeploysNothing) {
  StartDaemon();
  ASSERT_TRUE(SendDeploy(1, 4, Spec("v1")));
  ASSERT_TRUE(WaitForResult(1).ok());
  const int fetches = git_.fetches();

  // The controller goes away for a while (several backoff rounds).
  server_.reset();
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(systemd_.GetUnitState("hello-web.service")->active_state, "active")
      << "nothing stops while the controller is away";
  StartController();
  const v1::Hello hello = WaitForHello(controller());
  ASSERT_EQ(hello.apps_size(), 1);
  EXPECT_EQ(hello.apps(0).revision(), 4u);
  EXPECT_EQ(hello.apps(0).spec_digest(), ControllerDigest(Spec("v1")));
  EXPECT_EQ(hello.apps(0).health(), v1::HEALTH_STATE_HEALTHY);
  // A controller that asks anyway is answered from the state.
  fake_systemd_.ClearCalls();
  ASSERT_TRUE(SendDeploy(2, 4, Spec("v1")));
  EXPECT_TRUE(WaitForResult(2).ok());
  EXPECT_THAT(Progress(2), IsEmpty());
  EXPECT_EQ(git_.fetches(), fetches);
  EXPECT_THAT(fake_systemd_.calls(), IsEmpty());
}

TEST_F(AgentDaemonTest, AfterAnAgentRestartTheHelloSaysWhatRuns) {
  StartDaemon();
  ASSERT_TRUE(SendDeploy(1, 9, Spec("v2")));
  ASSERT_TRUE(WaitForResult(1).ok());
  StopDaemon();
  server_.reset();
  StartController();
  StartDaemon();
  const v1::Hello hello = WaitForHello(controller());
  ASSERT_EQ(hello.apps_size(), 1);
  EXPECT_EQ(hello.apps(0).app(), "hello");
  EXPECT_EQ(hello.apps(0).revision(), 9u);
  EXPECT_EQ(hello.apps(0).tag(), "v2");
  EXPECT_EQ(hello.apps(0).commit(), kCommitV2);
  EXPECT_EQ(hello.apps(0).spec_digest(), ControllerDigest(Spec("v2")));
  EXPECT_EQ(hello.apps(0).health(), v1::HEALTH_STATE_HEALTHY);
}

TEST_F(AgentDaemonTest, AControllerThatNeverWelcomesIsLeftAndDialedAgain) {
  controller().set_welcome(false);
  StartDaemon();
  const AgentMessageMatch hello = [](const v1::AgentMessage& m) { return m.has_hello(); };
  EXPECT_TRUE(controller().WaitForNth(hello, 2)) << "a second stream after the welcome timeout";
  EXPECT_THAT(controller().All([](const v1::AgentMessage& m) { return m.has_heartbeat(); }),
              IsEmpty())
      << "no heartbeats before a Welcome";
}

TEST_F(AgentDaemonTest, KeepsRetryingWhileNoControllerListens) {
  server_.reset();
  StartDaemon();
  absl::SleepFor(absl::Milliseconds(300));
  StartController();
  EXPECT_EQ(WaitForHello(controller()).host(), "h1");
}

// Several controllers, one leading (docs/INTERFACES.md): where nothing
// listens (a dead leader) or the stream is refused (a follower), the agent
// goes on to the next address.
TEST_F(AgentDaemonTest, WithSeveralAddressesTheAgentReachesTheOneThatServes) {
  StartDaemon(ConnectionOptions().max_receive_message_bytes,
              absl::StrCat("unix:", dir_.Join("dead-leader.sock"), ",unix:", socket_));
  EXPECT_EQ(WaitForHello(controller()).host(), "h1");
}

}  // namespace
}  // namespace pyservice::agent
