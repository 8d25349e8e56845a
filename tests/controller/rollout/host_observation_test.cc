// What a wave gate sees of one host (controller/rollout/host_observation.h),
// in the states a controller restarted mid-rollout finds hosts in: it knows
// only what each host reports (the results of deploys that ended while it
// was down are lost), so a host passes the gate only once it reports the
// new revision verified and HEALTHY, with no deploy of it running.
#include "controller/rollout/host_observation.h"

#include <string>

#include "gtest/gtest.h"

namespace pyservice::controller::rollout {
namespace {

using Progress = HostObservation::Progress;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

RolloutRevisions Revisions() {
  RolloutRevisions revisions;
  revisions.app = "web";
  revisions.to = 2;
  revisions.to_digest = "sha256:v2";
  revisions.from = 1;
  revisions.from_digest = "sha256:v1";
  return revisions;
}

// A host that reconnected to the restarted controller reporting `digest`
// with `health` (its Hello), nothing in flight.
fleet::HostView Reconnected(const std::string& digest, v1::HealthState health,
                            bool unverified = false) {
  fleet::HostView view;
  view.name = "h1";
  view.connected = true;
  v1::AppHealth& app = view.apps["web"];
  app.set_app("web");
  app.set_spec_digest(digest);
  app.set_health(health);
  app.set_unverified(unverified);
  return view;
}

Progress Observe(const fleet::HostView& view) {
  const GoneRule gone{absl::Seconds(45), kNow - absl::Seconds(5)};
  return ObserveHost(&view, fleet::FleetRegistry::Liveness{false, kNow}, Revisions(), gone, kNow)
      .progress;
}

TEST(ObserveHostTest, TheNewRevisionVerifiedAndHealthyPassesTheGate) {
  EXPECT_EQ(Observe(Reconnected("sha256:v2", v1::HEALTH_STATE_HEALTHY)), Progress::kHealthy);
}

TEST(ObserveHostTest, TheNewRevisionSwitchedInButNotVerifiedDoesNotPassTheGate) {
  // The agent recorded the release live at its units step and stopped
  // before verify passed: its units may well be active.
  EXPECT_EQ(Observe(Reconnected("sha256:v2", v1::HEALTH_STATE_HEALTHY, /*unverified=*/true)),
            Progress::kMoving);
}

TEST(ObserveHostTest, TheNewRevisionWithADeployRunningOnTheHostDoesNotPassTheGate) {
  EXPECT_EQ(Observe(Reconnected("sha256:v2", v1::HEALTH_STATE_PROGRESSING)), Progress::kMoving);
}

TEST(ObserveHostTest, TheNewRevisionNotHealthyYetDoesNotPassTheGate) {
  EXPECT_EQ(Observe(Reconnected("sha256:v2", v1::HEALTH_STATE_DEGRADED)), Progress::kMoving);
  EXPECT_EQ(Observe(Reconnected("sha256:v2", v1::HEALTH_STATE_UNKNOWN)), Progress::kMoving);
}

TEST(ObserveHostTest, TheNewRevisionFailedFailsTheGate) {
  EXPECT_EQ(Observe(Reconnected("sha256:v2", v1::HEALTH_STATE_FAILED)), Progress::kFailed);
}

TEST(ObserveHostTest, TheOldRevisionStillDeployingIsMoving) {
  // A deploy sent before the restart still runs: the agent reports what
  // its state said when it began.
  EXPECT_EQ(Observe(Reconnected("sha256:v1", v1::HEALTH_STATE_PROGRESSING)), Progress::kMoving);
}

}  // namespace
}  // namespace pyservice::controller::rollout
