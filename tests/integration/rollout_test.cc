// Rollouts end to end in process (fleet_fixture.h): the real store, fleet,
// rollout driver and services over gRPC on a Unix socket, with four fake
// agents speaking the agent protocol. The same scenarios on real systemd
// hosts are in tests/e2e/fleet/.
#include <string>
#include <vector>

#include "tests/integration/fleet_fixture.h"

namespace pyservice {
namespace {

constexpr char kApp[] = "hello";

class RolloutTest : public FleetTest {
 protected:
  // Four hosts running revision 1 (tag v1) of the app.
  void SetUp() override {
    FleetTest::SetUp();
    for (const char* host : {"h1", "h2", "h3", "h4"}) hosts_.push_back(&Agent(host));
    ASSERT_EQ(Apply(AppYaml(kApp, "v1")), 1u);
    for (FakeAgent* host : hosts_) ASSERT_TRUE(host->WaitForRevision(kApp, 1).ok());
  }

  absl::StatusOr<v1::Rollout> Start(const std::string& tag, std::optional<uint32_t> canary_percent,
                                    std::optional<uint32_t> batch_count, bool auto_promote) {
    v1::StartRolloutRequest request;
    request.set_app(kApp);
    request.set_tag(tag);
    if (canary_percent) request.mutable_canary()->set_percent(*canary_percent);
    if (batch_count) request.mutable_batch()->set_count(*batch_count);
    request.set_auto_promote(auto_promote);
    v1::Rollout rollout;
    grpc::ClientContext context;
    const grpc::Status status = stub_->StartRollout(&context, request, &rollout);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          status.error_message());
    }
    return rollout;
  }

  v1::Rollout Get() {
    v1::GetRolloutRequest request;
    request.set_app(kApp);
    v1::Rollout rollout;
    grpc::ClientContext context;
    const grpc::Status status = stub_->GetRollout(&context, request, &rollout);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return rollout;
  }

  grpc::Status Control(v1::ControlRolloutRequest::Action action, v1::Rollout* rollout) {
    v1::ControlRolloutRequest request;
    request.set_app(kApp);
    request.set_action(action);
    grpc::ClientContext context;
    return stub_->ControlRollout(&context, request, rollout);
  }

  grpc::Status Undo(v1::Rollout* rollout) {
    v1::UndoRolloutRequest request;
    request.set_app(kApp);
    grpc::ClientContext context;
    return stub_->UndoRollout(&context, request, rollout);
  }

  // Waits until the latest rollout is in `state` (and settled, for a final
  // state).
  bool WaitForState(v1::RolloutState state) {
    return Eventually([&] {
      const v1::Rollout rollout = Get();
      const bool final = state >= v1::ROLLOUT_STATE_SUCCEEDED;
      return rollout.state() == state && (!final || rollout.settled());
    });
  }

  uint32_t RevisionOn(FakeAgent& host) {
    const auto apps = host.apps();
    const auto it = apps.find(kApp);
    return it == apps.end() ? 0 : it->second.revision();
  }

  // Full deploys (not preparations) of `revision` the host was sent.
  int DeploysOf(FakeAgent& host, uint32_t revision) {
    int count = 0;
    for (const v1::ControllerMessage& message : host.received()) {
      if (message.has_deploy() && !message.deploy().prepare_only() &&
          message.deploy().revision() == revision) {
        ++count;
      }
    }
    return count;
  }

  int PreparesOf(FakeAgent& host, uint32_t revision) {
    int count = 0;
    for (const v1::ControllerMessage& message : host.received()) {
      if (message.has_deploy() && message.deploy().prepare_only() &&
          message.deploy().revision() == revision) {
        ++count;
      }
    }
    return count;
  }

  // Every host runs `revision`, which was sent to it exactly once.
  void ExpectEveryHostRunsDeployedOnce(uint32_t revision) {
    for (FakeAgent* host : hosts_) {
      EXPECT_EQ(RevisionOn(*host), revision) << host->host();
      EXPECT_EQ(DeploysOf(*host, revision), 1) << host->host() << ": deployed exactly once";
    }
  }

  // How many of the rollout's hosts it shows prepared.
  static int PreparedHosts(const v1::Rollout& rollout) {
    int prepared = 0;
    for (const v1::RolloutWave& wave : rollout.waves()) {
      for (const v1::RolloutHost& host : wave.hosts()) {
        if (host.prepare() == v1::PREPARE_STATE_PREPARED) ++prepared;
      }
    }
    return prepared;
  }

  std::vector<FakeAgent*> hosts_;
};

TEST_F(RolloutTest, CanaryWaitsForPromotion_ThenPromoteTakesEveryHost) {
  absl::StatusOr<v1::Rollout> started = Start("v2", 25, std::nullopt, false);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(started->from_revision(), 1u);
  EXPECT_EQ(started->to_revision(), 2u);
  EXPECT_EQ(started->cause(), "rollout");

  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_AWAITING_PROMOTION));
  // Hosts are planned in name order: the canary is h1.
  EXPECT_EQ(RevisionOn(*hosts_[0]), 2u);
  for (int i = 1; i < 4; ++i) {
    EXPECT_EQ(RevisionOn(*hosts_[i]), 1u) << hosts_[i]->host();
    EXPECT_EQ(DeploysOf(*hosts_[i], 2), 0) << hosts_[i]->host();
  }
  // The next two waves (h2, h3) prepared ahead, and the status shows it;
  // h4's wave is further out.
  ASSERT_TRUE(Eventually([&] { return PreparedHosts(Get()) == 2; }));
  EXPECT_EQ(PreparesOf(*hosts_[1], 2), 1);
  EXPECT_EQ(PreparesOf(*hosts_[2], 2), 1);
  EXPECT_EQ(PreparesOf(*hosts_[3], 2), 0);
  const v1::Rollout waiting = Get();
  ASSERT_EQ(waiting.waves_size(), 4);  // canary 1 host, then batches of 25%
  EXPECT_TRUE(waiting.waves(0).canary());
  EXPECT_EQ(waiting.waves(0).hosts(0).state(), v1::ROLLOUT_HOST_STATE_HEALTHY);
  EXPECT_EQ(waiting.waves(1).hosts(0).state(), v1::ROLLOUT_HOST_STATE_PENDING);

  v1::Rollout promoted;
  ASSERT_TRUE(Control(v1::ControlRolloutRequest::ACTION_PROMOTE, &promoted).ok());
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_SUCCEEDED));
  ExpectEveryHostRunsDeployedOnce(2);
  EXPECT_EQ(PreparesOf(*hosts_[3], 2), 1) << "h4 prepared once its wave came within reach";
  EXPECT_EQ(Get().healthy(), 4u);
}

TEST_F(RolloutTest, OlderAgentsReportingPrepareStepsArePreparedAndDeployedOnce) {
  for (FakeAgent* host : hosts_) host->ReportPrepareSteps();
  ASSERT_TRUE(Start("v2", 25, std::nullopt, false).ok());
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_AWAITING_PROMOTION));
  ASSERT_TRUE(Eventually([&] { return PreparedHosts(Get()) == 2; }));
  v1::Rollout promoted;
  ASSERT_TRUE(Control(v1::ControlRolloutRequest::ACTION_PROMOTE, &promoted).ok());
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_SUCCEEDED));
  ExpectEveryHostRunsDeployedOnce(2);
}

TEST_F(RolloutTest, BrokenTagFailsTheCanaryGate_CanaryRolledBack_OthersNeverTouched) {
  for (FakeAgent* host : hosts_) host->FailTag(kApp, "v3-broken", "verify", "hello-web is not active");
  ASSERT_TRUE(Start("v3-broken", 25, std::nullopt, false).ok());
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_ROLLED_BACK));
  const v1::Rollout rollout = Get();
  EXPECT_THAT(rollout.message(), HasSubstr("host h1"));
  EXPECT_THAT(rollout.message(), HasSubstr("verify"));
  EXPECT_EQ(rollout.waves(0).hosts(0).state(), v1::ROLLOUT_HOST_STATE_ROLLED_BACK);
  EXPECT_THAT(rollout.waves(0).hosts(0).error(), HasSubstr("hello-web is not active"));
  for (FakeAgent* host : hosts_) EXPECT_EQ(RevisionOn(*host), 1u) << host->host();
  for (int i = 1; i < 4; ++i) {
    EXPECT_EQ(DeploysOf(*hosts_[i], 2), 0) << hosts_[i]->host();
    EXPECT_EQ(rollout.waves(i).hosts(0).state(), v1::ROLLOUT_HOST_STATE_PENDING);
  }
  // Status shows the fleet where it is: revision 1 everywhere, healthy.
  const v1::AppStatus status = Status(kApp);
  ASSERT_EQ(status.hosts_size(), 4);
  for (const v1::HostAppStatus& host : status.hosts()) {
    EXPECT_EQ(host.revision(), 1u) << host.host();
    EXPECT_EQ(host.state(), v1::HOST_DEPLOY_STATE_HEALTHY) << host.host();
  }
}

TEST_F(RolloutTest, FailedLaterWaveRollsEveryTouchedHostBack) {
  hosts_[2]->FailTag(kApp, "v2", "environment", "uv sync failed");
  ASSERT_TRUE(Start("v2", std::nullopt, 1, false).ok());
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_ROLLED_BACK));
  // h1 and h2 went to 2 and were put back on 1; h4 was never touched.
  for (int i : {0, 1}) {
    EXPECT_EQ(DeploysOf(*hosts_[i], 2), 1) << hosts_[i]->host();
    EXPECT_EQ(DeploysOf(*hosts_[i], 1), 2) << hosts_[i]->host() << ": first deploy + rollback";
  }
  EXPECT_EQ(DeploysOf(*hosts_[3], 2), 0);
  for (FakeAgent* host : hosts_) EXPECT_EQ(RevisionOn(*host), 1u) << host->host();
  EXPECT_THAT(Get().message(), HasSubstr("wave 2 failed: host h3 failed at step environment"));
}

TEST_F(RolloutTest, WithoutAutoRollbackAFailedWaveLeavesHostsWhereTheyAre) {
  ASSERT_EQ(Apply(AppYaml(kApp, "v1") + "rollout:\n  batch: 1\n  auto_rollback: false\n"), 2u);
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_SUCCEEDED));
  hosts_[1]->FailTag(kApp, "v2", "checkout", "no such tag");
  ASSERT_TRUE(Start("v2", std::nullopt, std::nullopt, false).ok());
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_FAILED));
  EXPECT_EQ(RevisionOn(*hosts_[0]), 3u);
  EXPECT_EQ(RevisionOn(*hosts_[1]), 2u);
  EXPECT_EQ(RevisionOn(*hosts_[2]), 2u);
}

TEST_F(RolloutTest, OnlyOneActiveRolloutPerApp) {
  ASSERT_TRUE(Start("v2", 25, std::nullopt, false).ok());
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_AWAITING_PROMOTION));
  absl::StatusOr<v1::Rollout> second = Start("v3", std::nullopt, std::nullopt, false);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("active rollout 1"));
  // An apply that changes the app is refused the same way, storing nothing.
  v1::ApplyAppRequest request;
  request.set_yaml(AppYaml(kApp, "v9"));
  v1::ApplyAppResponse response;
  grpc::ClientContext context;
  const grpc::Status applied = stub_->ApplyApp(&context, request, &response);
  EXPECT_EQ(applied.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(applied.error_message(), HasSubstr("pyctl rollout abort hello"));
  absl::StatusOr<std::vector<controller::StoredRevision>> revisions = store_->ListRevisions(kApp);
  ASSERT_TRUE(revisions.ok());
  EXPECT_EQ(revisions->size(), 2u);
}

TEST_F(RolloutTest, PauseHoldsTheNextWave_ResumeContinues) {
  for (FakeAgent* host : hosts_) host->HoldDeploys();
  ASSERT_TRUE(Start("v2", std::nullopt, 2, false).ok());
  ASSERT_TRUE(hosts_[0]->WaitForDeploy(kApp, 1).ok());  // wave 0 (h1, h2) is deploying
  v1::Rollout paused;
  ASSERT_TRUE(Control(v1::ControlRolloutRequest::ACTION_PAUSE, &paused).ok());
  EXPECT_EQ(paused.state(), v1::ROLLOUT_STATE_PAUSED);
  for (FakeAgent* host : hosts_) host->ReleaseDeploys();
  // The running wave finishes; the next does not start.
  ASSERT_TRUE(Eventually([&] { return RevisionOn(*hosts_[0]) == 2 && RevisionOn(*hosts_[1]) == 2; }));
  fleet_->rollouts().RunPass();
  EXPECT_EQ(Get().state(), v1::ROLLOUT_STATE_PAUSED);
  EXPECT_EQ(DeploysOf(*hosts_[2], 2), 0);
  EXPECT_EQ(DeploysOf(*hosts_[3], 2), 0);
  v1::Rollout refused;
  EXPECT_EQ(Control(v1::ControlRolloutRequest::ACTION_PROMOTE, &refused).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  v1::Rollout resumed;
  ASSERT_TRUE(Control(v1::ControlRolloutRequest::ACTION_RESUME, &resumed).ok());
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_SUCCEEDED));
  for (FakeAgent* host : hosts_) EXPECT_EQ(RevisionOn(*host), 2u) << host->host();
}

TEST_F(RolloutTest, AbortPutsTheCanaryBack) {
  ASSERT_TRUE(Start("v2", 25, std::nullopt, false).ok());
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_AWAITING_PROMOTION));
  ASSERT_EQ(RevisionOn(*hosts_[0]), 2u);
  v1::Rollout aborted;
  ASSERT_TRUE(Control(v1::ControlRolloutRequest::ACTION_ABORT, &aborted).ok());
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_ABORTED));
  for (FakeAgent* host : hosts_) EXPECT_EQ(RevisionOn(*host), 1u) << host->host();
  EXPECT_EQ(Get().waves(0).hosts(0).state(), v1::ROLLOUT_HOST_STATE_ROLLED_BACK);
  v1::Rollout again;
  EXPECT_EQ(Control(v1::ControlRolloutRequest::ACTION_ABORT, &again).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(RolloutTest, AbortCancelsADeployStuckOnTheCanary_WhichKeepsTheOldRevision) {
  hosts_[0]->StickTag(kApp, "v2");
  ASSERT_TRUE(Start("v2", 25, std::nullopt, false).ok());
  absl::StatusOr<v1::DeployRequest> stuck = hosts_[0]->WaitForDeploy(kApp, 1);
  ASSERT_TRUE(stuck.ok()) << stuck.status();
  ASSERT_EQ(stuck->revision(), 2u);
  v1::Rollout aborted;
  ASSERT_TRUE(Control(v1::ControlRolloutRequest::ACTION_ABORT, &aborted).ok());
  absl::StatusOr<v1::CancelRequest> cancel = hosts_[0]->WaitForCancel();
  ASSERT_TRUE(cancel.ok()) << cancel.status();
  EXPECT_EQ(cancel->deploy_id(), stuck->deploy_id());
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_ABORTED));
  EXPECT_EQ(hosts_[0]->StuckCount(), 0);
  for (FakeAgent* host : hosts_) EXPECT_EQ(RevisionOn(*host), 1u) << host->host();
}

TEST_F(RolloutTest, AStuckDeployDoesNotBlockTheNextRollout) {
  hosts_[0]->StickTag(kApp, "v2");
  ASSERT_TRUE(Start("v2", 25, std::nullopt, false).ok());
  ASSERT_TRUE(hosts_[0]->WaitForDeploy(kApp, 1).ok());
  v1::Rollout aborted;
  ASSERT_TRUE(Control(v1::ControlRolloutRequest::ACTION_ABORT, &aborted).ok());
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_ABORTED));
  ASSERT_TRUE(Start("v3", std::nullopt, std::nullopt, false).ok());
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_SUCCEEDED));
  for (FakeAgent* host : hosts_) EXPECT_EQ(host->apps()[kApp].tag(), "v3") << host->host();
}

TEST_F(RolloutTest, UndoRollsOutThePreviousGoodRevision) {
  ASSERT_TRUE(Start("v2", std::nullopt, std::nullopt, false).ok());
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_SUCCEEDED));
  v1::Rollout undo;
  ASSERT_TRUE(Undo(&undo).ok());
  EXPECT_EQ(undo.cause(), "undo");
  EXPECT_EQ(undo.tag(), "v1");
  EXPECT_EQ(undo.to_revision(), 3u);
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_SUCCEEDED));
  for (FakeAgent* host : hosts_) {
    EXPECT_EQ(RevisionOn(*host), 3u) << host->host();
    EXPECT_EQ(host->apps()[kApp].tag(), "v1") << host->host();
  }
}

TEST_F(RolloutTest, UndoAfterARolledBackRolloutMakesTheRevisionTheFleetRunsCurrent) {
  // Revision 1 came from a plain apply; the rollout of revision 2 rolled
  // back, so every host still runs revision 1.
  for (FakeAgent* host : hosts_) host->FailTag(kApp, "v3-broken", "verify", "not active");
  ASSERT_TRUE(Start("v3-broken", 25, std::nullopt, false).ok());
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_ROLLED_BACK));
  v1::Rollout undo;
  const grpc::Status status = Undo(&undo);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(undo.cause(), "undo");
  EXPECT_EQ(undo.tag(), "v1");
  EXPECT_EQ(undo.from_revision(), 1u);
  EXPECT_EQ(undo.to_revision(), 3u);
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_SUCCEEDED));
  for (FakeAgent* host : hosts_) {
    EXPECT_EQ(host->apps()[kApp].tag(), "v1") << host->host();
    // Every host already ran that spec: nothing is deployed for the undo.
    EXPECT_EQ(DeploysOf(*host, 3), 0) << host->host();
  }
  absl::StatusOr<std::optional<controller::StoredRevision>> current =
      store_->CurrentRevision(kApp);
  ASSERT_TRUE(current.ok() && current->has_value());
  EXPECT_EQ((*current)->number, 3u);
  EXPECT_EQ((*current)->tag, "v1");
}

// Issue 13's sequence: v1 applied, v2 rolled out, a broken tag's canary
// rolled back (every host kept v2). Undo succeeds and makes v2 current
// without touching a host; a second undo then goes back to v1 (the
// revision before v2), not to v2 again.
TEST_F(RolloutTest, UndoAfterABrokenCanaryOnARolledOutRevisionKeepsItThenASecondUndoGoesBack) {
  ASSERT_TRUE(Start("v2", std::nullopt, std::nullopt, false).ok());
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_SUCCEEDED));
  for (FakeAgent* host : hosts_) host->FailTag(kApp, "v3-broken", "verify", "not active");
  ASSERT_TRUE(Start("v3-broken", 25, std::nullopt, false).ok());
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_ROLLED_BACK));

  v1::Rollout undo;
  {
    const grpc::Status status = Undo(&undo);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(undo.tag(), "v2");
  EXPECT_EQ(undo.from_revision(), 2u);
  EXPECT_EQ(undo.to_revision(), 4u);
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_SUCCEEDED));
  for (FakeAgent* host : hosts_) {
    EXPECT_EQ(host->apps()[kApp].tag(), "v2") << host->host();
    EXPECT_EQ(DeploysOf(*host, 4), 0) << host->host();
  }

  v1::Rollout again;
  {
    const grpc::Status status = Undo(&again);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(again.tag(), "v1");
  EXPECT_EQ(again.from_revision(), 4u);
  EXPECT_EQ(again.to_revision(), 5u);
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_SUCCEEDED));
  for (FakeAgent* host : hosts_) {
    EXPECT_EQ(RevisionOn(*host), 5u) << host->host();
    EXPECT_EQ(host->apps()[kApp].tag(), "v1") << host->host();
  }
}

// A change made with `pyctl apply` (a rollout of cause "apply") is undone
// like one made with `pyctl rollout`: back to the revision before it.
TEST_F(RolloutTest, UndoOfAnAppliedChangeGoesBackToTheRevisionBeforeIt) {
  ASSERT_EQ(Apply(AppYaml(kApp, "v2")), 2u);
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_SUCCEEDED));
  for (FakeAgent* host : hosts_) ASSERT_EQ(host->apps()[kApp].tag(), "v2") << host->host();
  v1::Rollout undo;
  const grpc::Status status = Undo(&undo);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(undo.tag(), "v1");
  EXPECT_EQ(undo.from_revision(), 2u);
  EXPECT_EQ(undo.to_revision(), 3u);
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_SUCCEEDED));
  for (FakeAgent* host : hosts_) {
    EXPECT_EQ(RevisionOn(*host), 3u) << host->host();
    EXPECT_EQ(host->apps()[kApp].tag(), "v1") << host->host();
  }
}

TEST_F(RolloutTest, ApplyOfAChangedSpecIsARolloutWithTheAppsDefaults) {
  v1::ApplyAppRequest request;
  request.set_yaml(AppYaml(kApp, "v2") + "rollout:\n  canary: 50%\n");
  v1::ApplyAppResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->ApplyApp(&context, request, &response).ok());
  EXPECT_EQ(response.revision(), 2u);
  EXPECT_EQ(response.rollout(), 1u);
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_AWAITING_PROMOTION));
  EXPECT_EQ(Get().cause(), "apply");
  EXPECT_EQ(Get().waves(0).hosts_size(), 2);
  EXPECT_EQ(RevisionOn(*hosts_[0]), 2u);
  EXPECT_EQ(RevisionOn(*hosts_[1]), 2u);
  EXPECT_EQ(RevisionOn(*hosts_[2]), 1u);
}

TEST_F(RolloutTest, LostHostFailsItsWave) {
  hosts_[0]->HoldDeploys();
  ASSERT_TRUE(Start("v2", 25, std::nullopt, false).ok());
  ASSERT_TRUE(hosts_[0]->WaitForDeploy(kApp, 1).ok());
  // Its first step report is in before the clock moves on.
  ASSERT_TRUE(Eventually([&] {
    const v1::Rollout rollout = Get();
    return rollout.waves_size() > 0 && rollout.waves(0).hosts(0).step() == "checkout";
  }));
  // h1 goes silent mid-deploy; the others keep heartbeating.
  clock_.Advance(absl::Seconds(16));
  for (int i = 1; i < 4; ++i) hosts_[i]->SendHeartbeat();
  ASSERT_TRUE(Eventually([&] { return LastSeen("h4") == clock_.Now(); }));
  fleet_->SweepNow();
  fleet_->rollouts().RunPass();
  ASSERT_TRUE(Eventually([&] { return Get().state() == v1::ROLLOUT_STATE_ROLLED_BACK; }));
  EXPECT_THAT(Get().message(), HasSubstr("host h1 lost"));
  hosts_[0]->ReleaseDeploys();
}

TEST_F(RolloutTest, AnAgentReconnectingWithinTheGraceDoesNotFailItsWave) {
  hosts_[0]->HoldDeploys();
  ASSERT_TRUE(Start("v2", 25, std::nullopt, false).ok());
  ASSERT_TRUE(hosts_[0]->WaitForDeploy(kApp, 1).ok());
  // h1's agent restarts mid-deploy: its stream ends, and it is back 30 s later.
  const std::map<std::string, v1::AppHealth> running = hosts_[0]->apps();
  hosts_[0]->CloseStream();
  ASSERT_TRUE(Eventually([&] { return !HostConnected("h1"); }));
  clock_.Advance(absl::Seconds(30));
  fleet_->rollouts().RunPass();
  EXPECT_EQ(Get().state(), v1::ROLLOUT_STATE_RUNNING);
  hosts_[0]->ReleaseDeploys();
  FakeAgent& back = Agent("h1", {}, running);
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_AWAITING_PROMOTION));
  EXPECT_EQ(RevisionOn(back), 2u);
}

TEST_F(RolloutTest, AnAgentNotBackWithinTheGraceFailsItsWave) {
  hosts_[0]->HoldDeploys();
  ASSERT_TRUE(Start("v2", 25, std::nullopt, false).ok());
  ASSERT_TRUE(hosts_[0]->WaitForDeploy(kApp, 1).ok());
  hosts_[0]->CloseStream();
  ASSERT_TRUE(Eventually([&] { return !HostConnected("h1"); }));
  clock_.Advance(absl::Seconds(46));
  fleet_->rollouts().RunPass();
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_ROLLED_BACK));
  EXPECT_THAT(Get().message(), HasSubstr("host h1 lost"));
  hosts_[0]->ReleaseDeploys();
}

TEST_F(RolloutTest, HostsStillDialingInAreWaitedForBeforeThePlan_ThenLeftOut) {
  // h4's agent stops: the controller knows it, but it is not connected.
  hosts_[3]->CloseStream();
  ASSERT_TRUE(Eventually([&] { return !HostConnected("h4"); }));
  ASSERT_TRUE(Start("v2", std::nullopt, std::nullopt, true).ok());
  fleet_->rollouts().RunPass();
  EXPECT_EQ(Get().state(), v1::ROLLOUT_STATE_PENDING) << "planned without waiting for h4";
  // After the reconnect grace (45 s) it is planned without it.
  clock_.Advance(absl::Seconds(44));
  fleet_->rollouts().RunPass();
  EXPECT_EQ(Get().state(), v1::ROLLOUT_STATE_PENDING);
  clock_.Advance(absl::Seconds(1));
  fleet_->rollouts().RunPass();
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_SUCCEEDED));
  EXPECT_EQ(Get().hosts(), 3u);
  EXPECT_EQ(DeploysOf(*hosts_[3], 2), 0);
}

TEST_F(RolloutTest, BadRequestsAreRefusedSayingWhyAndStoreNothing) {
  v1::StartRolloutRequest request;
  request.set_app("nope");
  request.set_tag("v2");
  v1::Rollout rollout;
  {
    grpc::ClientContext context;
    const grpc::Status status = stub_->StartRollout(&context, request, &rollout);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(status.error_message(), HasSubstr("\"nope\" not found"));
  }
  absl::StatusOr<v1::Rollout> bad_tag = Start("v2..x", std::nullopt, std::nullopt, false);
  EXPECT_EQ(bad_tag.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_tag.status().message(), HasSubstr("--tag"));
  absl::StatusOr<v1::Rollout> same = Start("v1", std::nullopt, std::nullopt, false);
  EXPECT_EQ(same.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(same.status().message(), HasSubstr("already runs tag v1"));
  request.set_app(kApp);
  request.mutable_canary()->set_percent(101);
  {
    grpc::ClientContext context;
    const grpc::Status status = stub_->StartRollout(&context, request, &rollout);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("--canary: must be 1% to 100%"));
  }
  {
    const grpc::Status status = Undo(&rollout);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(status.error_message(), HasSubstr("nothing to undo"));
  }
  v1::Rollout none;
  EXPECT_EQ(Control(v1::ControlRolloutRequest::ACTION_PROMOTE, &none).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  absl::StatusOr<std::vector<controller::StoredRevision>> revisions = store_->ListRevisions(kApp);
  ASSERT_TRUE(revisions.ok());
  EXPECT_EQ(revisions->size(), 1u) << "nothing stored";
}

TEST_F(RolloutTest, DeletingTheAppAbortsItsRollout) {
  ASSERT_TRUE(Start("v2", 25, std::nullopt, false).ok());
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_AWAITING_PROMOTION));
  v1::DeleteAppRequest request;
  request.set_name(kApp);
  v1::DeleteAppResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->DeleteApp(&context, request, &response).ok());
  EXPECT_EQ(Get().state(), v1::ROLLOUT_STATE_ABORTED);
  for (FakeAgent* host : hosts_) ASSERT_TRUE(host->WaitForRemove(kApp).ok()) << host->host();
}

TEST_F(RolloutTest, ControllerRestartResumesWithoutDeployingAnyHostTwice) {
  // Batches of one host; h3's work hangs (its preparation, then its
  // deploy), so the controller stops with h1 and h2 on revision 2 and wave
  // 2 running.
  hosts_[2]->HoldDeploys();
  hosts_[3]->HoldDeploys();
  ASSERT_TRUE(Start("v2", std::nullopt, 1, false).ok());
  ASSERT_TRUE(Eventually([&] { return Get().current_wave() == 2; }));
  std::map<std::string, std::map<std::string, v1::AppHealth>> running;
  StopController();
  for (FakeAgent* host : hosts_) running[host->host()] = host->apps();
  agents_.clear();
  hosts_.clear();
  ASSERT_EQ(running["h1"][kApp].revision(), 2u);
  ASSERT_EQ(running["h3"][kApp].revision(), 1u);
  StartController();
  for (const auto& [name, apps] : running) hosts_.push_back(&Agent(name, {}, apps));
  ASSERT_TRUE(WaitForState(v1::ROLLOUT_STATE_SUCCEEDED));
  for (FakeAgent* host : hosts_) {
    EXPECT_EQ(RevisionOn(*host), 2u) << host->host();
    // A host that ran revision 2 before the restart got no deploy after it.
    if (running[host->host()][kApp].revision() == 2) {
      EXPECT_EQ(DeploysOf(*host, 2), 0) << host->host();
    } else {
      EXPECT_EQ(DeploysOf(*host, 2), 1) << host->host();
    }
  }
}

}  // namespace
}  // namespace pyservice
