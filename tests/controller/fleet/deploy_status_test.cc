// Where a host stands with a revision (controller/fleet/deploy_status.h):
// what a wave gate and every watcher read. Above all, what a restarted
// controller may take as done from a host's report alone.
#include "controller/fleet/deploy_status.h"

#include <string>

#include "gtest/gtest.h"

namespace pyservice::controller::fleet {
namespace {

constexpr char kDigest[] = "sha256:v2";

// A connected host that reports `app` at revision 2's digest with `health`,
// nothing in flight: what a restarted controller learns from a Hello.
HostView Reporting(v1::HealthState health, bool unverified = false) {
  HostView host;
  host.name = "h1";
  host.connected = true;
  v1::AppHealth& app = host.apps["web"];
  app.set_app("web");
  app.set_revision(2);
  app.set_spec_digest(kDigest);
  app.set_health(health);
  app.set_unverified(unverified);
  return host;
}

v1::HostDeployState StateOf(const HostView& host) {
  return DeployProgressOf(host, "web", 2, kDigest).state();
}

TEST(DeployProgressOfTest, HealthyAndVerifiedIsHealthy) {
  EXPECT_EQ(StateOf(Reporting(v1::HEALTH_STATE_HEALTHY)), v1::HOST_DEPLOY_STATE_HEALTHY);
}

TEST(DeployProgressOfTest, AReleaseSwitchedInButNotVerifiedIsNotHealthyWhateverItsUnits) {
  // The agent stopped between its units step and the end of verify.
  const HostView host = Reporting(v1::HEALTH_STATE_HEALTHY, /*unverified=*/true);
  const v1::HostDeployProgress progress = DeployProgressOf(host, "web", 2, kDigest);
  EXPECT_EQ(progress.state(), v1::HOST_DEPLOY_STATE_DEPLOYING);
  EXPECT_EQ(progress.step(), "verify");
}

TEST(DeployProgressOfTest, ADeployStillRunningOnTheHostIsNotHealthy) {
  // E.g. the agent re-ran the revision for a controller that was since
  // restarted: no deploy in flight here, health PROGRESSING.
  EXPECT_EQ(StateOf(Reporting(v1::HEALTH_STATE_PROGRESSING)), v1::HOST_DEPLOY_STATE_DEPLOYING);
}

TEST(DeployProgressOfTest, DegradedOrUnknownHealthIsNotHealthyYet) {
  EXPECT_EQ(StateOf(Reporting(v1::HEALTH_STATE_DEGRADED)), v1::HOST_DEPLOY_STATE_DEPLOYING);
  EXPECT_EQ(StateOf(Reporting(v1::HEALTH_STATE_UNKNOWN)), v1::HOST_DEPLOY_STATE_DEPLOYING);
}

TEST(DeployProgressOfTest, FailedHealthIsFailed) {
  EXPECT_EQ(StateOf(Reporting(v1::HEALTH_STATE_FAILED)), v1::HOST_DEPLOY_STATE_FAILED);
}

TEST(DeployProgressOfTest, ADeployOfTheRevisionInFlightIsDeployingEvenWhenHealthy) {
  HostView host = Reporting(v1::HEALTH_STATE_HEALTHY);
  InFlightDeploy deploy;
  deploy.deploy_id = 9;
  deploy.revision = 2;
  deploy.digest = kDigest;
  deploy.step = "units";
  host.in_flight["web"] = deploy;
  EXPECT_EQ(StateOf(host), v1::HOST_DEPLOY_STATE_DEPLOYING);
}

TEST(DeployProgressOfTest, AnotherDigestIsPending) {
  HostView host = Reporting(v1::HEALTH_STATE_HEALTHY);
  host.apps["web"].set_spec_digest("sha256:v1");
  EXPECT_EQ(StateOf(host), v1::HOST_DEPLOY_STATE_PENDING);
}

}  // namespace
}  // namespace pyservice::controller::fleet
