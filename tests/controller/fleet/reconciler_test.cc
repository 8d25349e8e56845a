// The reconciler's rules (controller/fleet/reconciler.h), one per test, on
// plain values: no gRPC, no threads, no store.
#include "controller/fleet/reconciler.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::controller::fleet {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Kind = ReconcileAction::Kind;

DesiredApp App(const std::string& name, uint32_t revision, Labels targets = {}) {
  auto spec = std::make_shared<v1::AppSpec>();
  spec->set_name(name);
  spec->set_tag("v" + std::to_string(revision));
  spec->mutable_targets()->mutable_labels()->insert(targets.begin(), targets.end());
  DesiredApp app;
  app.name = name;
  app.revision = revision;
  app.tag = spec->tag();
  app.digest = "sha256:" + name + "-" + std::to_string(revision);
  app.spec = std::move(spec);
  return app;
}

DesiredSet Desired(std::initializer_list<DesiredApp> apps) {
  DesiredSet set;
  for (const DesiredApp& app : apps) set[app.name] = app;
  return set;
}

HostView Host(const std::string& name, Labels labels = {}) {
  HostView host;
  host.name = name;
  host.connected = true;
  host.labels = std::move(labels);
  return host;
}

// `host` reports running `app` at `revision` with the digest App() gives it.
void Runs(HostView& host, const std::string& app, uint32_t revision) {
  v1::AppHealth& health = host.apps[app];
  health.set_app(app);
  health.set_revision(revision);
  health.set_spec_digest("sha256:" + app + "-" + std::to_string(revision));
  health.set_health(v1::HEALTH_STATE_HEALTHY);
}

InFlightDeploy DeployInFlight(uint64_t id, uint32_t revision, const std::string& digest) {
  InFlightDeploy deploy;
  deploy.deploy_id = id;
  deploy.revision = revision;
  deploy.digest = digest;
  return deploy;
}

InFlightDeploy RemovalInFlight(uint64_t id) {
  InFlightDeploy removal;
  removal.deploy_id = id;
  removal.remove = true;
  return removal;
}

ReconcileAction Deploy(const std::string& app, uint32_t revision) {
  return {Kind::kDeploy, app, revision};
}
ReconcileAction Remove(const std::string& app) { return {Kind::kRemove, app, 0}; }
ReconcileAction Cancel(const std::string& app, uint64_t deploy_id) {
  return {Kind::kCancel, app, 0, deploy_id};
}

TEST(TargetsTest, EmptySelectorTargetsEveryHost) {
  EXPECT_TRUE(Targets(*App("web", 1).spec, {}));
  EXPECT_TRUE(Targets(*App("web", 1).spec, {{"role", "db"}}));
}

TEST(TargetsTest, HostMustCarryEverySelectorLabelWithItsValue) {
  const DesiredApp app = App("web", 1, {{"role", "web"}, {"zone", "a"}});
  EXPECT_TRUE(Targets(*app.spec, {{"role", "web"}, {"zone", "a"}, {"extra", "x"}}));
  EXPECT_FALSE(Targets(*app.spec, {{"role", "web"}}));
  EXPECT_FALSE(Targets(*app.spec, {{"role", "web"}, {"zone", "b"}}));
  EXPECT_FALSE(Targets(*app.spec, {}));
}

TEST(PlanHostTest, NewHostGetsEveryTargetedApp) {
  const DesiredSet desired = Desired({App("api", 2), App("web", 1, {{"role", "web"}}),
                                      App("db", 4, {{"role", "db"}})});
  EXPECT_THAT(PlanHost(Host("h1", {{"role", "web"}}), desired),
              ElementsAre(Deploy("api", 2), Deploy("web", 1)));
}

TEST(PlanHostTest, DisconnectedHostGetsNothing) {
  HostView host = Host("h1");
  host.connected = false;
  EXPECT_THAT(PlanHost(host, Desired({App("web", 1)})), IsEmpty());
}

TEST(PlanHostTest, HostRunningTheDesiredDigestIsNotRedeployed) {
  HostView host = Host("h1");
  Runs(host, "web", 3);
  EXPECT_THAT(PlanHost(host, Desired({App("web", 3)})), IsEmpty());
}

TEST(PlanHostTest, AnUnverifiedReleaseOfTheDesiredDigestIsSentAgainToBeVerified) {
  // The agent stopped during verify: the release it switched in is
  // reported, unverified. A restarted controller that took it as done would
  // leave it unverified for good; the deploy sent again resumes and
  // verifies it.
  HostView host = Host("h1");
  Runs(host, "web", 3);
  host.apps["web"].set_unverified(true);
  EXPECT_THAT(PlanHost(host, Desired({App("web", 3)})), ElementsAre(Deploy("web", 3)));
}

TEST(PlanHostTest, SameDigestUnderAnotherRevisionNumberIsNotRedeployed) {
  // E.g. deployed locally with the same spec (revision 0): the digest is
  // what decides.
  HostView host = Host("h1");
  Runs(host, "web", 3);
  host.apps["web"].set_revision(0);
  EXPECT_THAT(PlanHost(host, Desired({App("web", 3)})), IsEmpty());
}

TEST(PlanHostTest, HostRunningAnOlderRevisionGetsTheCurrentOne) {
  HostView host = Host("h1");
  Runs(host, "web", 2);
  EXPECT_THAT(PlanHost(host, Desired({App("web", 3)})), ElementsAre(Deploy("web", 3)));
}

TEST(PlanHostTest, NothingIsSentWhileADeployOfTheAppIsInFlight) {
  HostView host = Host("h1");
  Runs(host, "web", 2);
  host.in_flight["web"] = DeployInFlight(7, 3, "sha256:web-3");
  EXPECT_THAT(PlanHost(host, Desired({App("web", 3), App("api", 1)})),
              ElementsAre(Deploy("api", 1)));
}

TEST(PlanHostTest, ADeployInFlightOfARevisionNoLongerWantedIsCanceledOnce) {
  HostView host = Host("h1");
  Runs(host, "web", 2);
  host.in_flight["web"] = DeployInFlight(7, 3, "sha256:web-3");  // stuck
  // Rolled back to 2 (or a newer revision applied): the deploy of 3 goes.
  EXPECT_THAT(PlanHost(host, Desired({App("web", 2)})), ElementsAre(Cancel("web", 7)));
  EXPECT_THAT(PlanHost(host, Desired({App("web", 4)})), ElementsAre(Cancel("web", 7)));
  host.in_flight["web"].cancel_sent = true;
  EXPECT_THAT(PlanHost(host, Desired({App("web", 2)})), IsEmpty()) << "waits for its result";
}

TEST(PlanHostTest, ADeployInFlightOfADeletedOrUntargetedAppIsCanceled) {
  HostView host = Host("h1", {{"role", "web"}});
  host.in_flight["web"] = DeployInFlight(7, 1, "sha256:web-1");
  EXPECT_THAT(PlanHost(host, Desired({})), ElementsAre(Cancel("web", 7)));
  EXPECT_THAT(PlanHost(host, Desired({App("web", 1, {{"role", "db"}})})),
              ElementsAre(Cancel("web", 7)));
}

TEST(PlanHostTest, APreparationInFlightOfAnotherDigestIsCanceled) {
  HostView host = Host("h1");
  Runs(host, "web", 2);
  InFlightDeploy prepare = DeployInFlight(7, 3, "sha256:web-3");
  prepare.prepare = true;
  host.in_flight["web"] = prepare;
  EXPECT_THAT(PlanHost(host, Desired({App("web", 2)})), ElementsAre(Cancel("web", 7)));
}

TEST(PlanHostTest, ARemovalInFlightIsNeverCanceled) {
  HostView host = Host("h1");
  Runs(host, "web", 2);
  host.in_flight["web"] = RemovalInFlight(7);
  EXPECT_THAT(PlanHost(host, Desired({App("web", 2)})), IsEmpty());
}

TEST(PlanHostTest, FailedRevisionIsNotRetriedUntilANewerOne) {
  HostView host = Host("h1");
  Runs(host, "web", 2);  // rolled back to 2 after 3 failed
  host.failures["web"] = {.revision = 3, .step = "verify", .error = "unit failed"};
  EXPECT_THAT(PlanHost(host, Desired({App("web", 3)})), IsEmpty());
  EXPECT_THAT(PlanHost(host, Desired({App("web", 4)})), ElementsAre(Deploy("web", 4)));
}

TEST(PlanHostTest, DeletedAppIsRemoved) {
  HostView host = Host("h1");
  Runs(host, "web", 2);
  Runs(host, "api", 1);
  EXPECT_THAT(PlanHost(host, Desired({App("api", 1)})), ElementsAre(Remove("web")));
}

TEST(PlanHostTest, AppWhoseLabelsNoLongerMatchIsRemoved) {
  HostView host = Host("h1", {{"role", "db"}});  // was role=web
  Runs(host, "web", 2);
  EXPECT_THAT(PlanHost(host, Desired({App("web", 2, {{"role", "web"}})})),
              ElementsAre(Remove("web")));
}

TEST(PlanHostTest, HostWhoseLabelsNowMatchGetsTheApp) {
  const DesiredSet desired = Desired({App("web", 2, {{"role", "web"}})});
  EXPECT_THAT(PlanHost(Host("h1", {{"role", "db"}}), desired), IsEmpty());
  EXPECT_THAT(PlanHost(Host("h1", {{"role", "web"}}), desired), ElementsAre(Deploy("web", 2)));
}

TEST(PlanHostTest, RetargetedRevisionMovesTheApp) {
  // Revision 3 moves web from role=web hosts to role=edge hosts.
  const DesiredSet desired = Desired({App("web", 3, {{"role", "edge"}})});
  HostView old_host = Host("h1", {{"role", "web"}});
  Runs(old_host, "web", 2);
  EXPECT_THAT(PlanHost(old_host, desired), ElementsAre(Remove("web")));
  EXPECT_THAT(PlanHost(Host("h2", {{"role", "edge"}}), desired), ElementsAre(Deploy("web", 3)));
}

TEST(PlanHostTest, LocallyDeployedAppIsNeverRemoved) {
  HostView host = Host("h1");
  Runs(host, "tool", 1);
  host.apps["tool"].set_revision(0);  // `pyservice-agent apply`
  EXPECT_THAT(PlanHost(host, Desired({})), IsEmpty());
}

TEST(PlanHostTest, RemovalIsNotSentTwiceNorRetriedAfterFailing) {
  HostView host = Host("h1");
  Runs(host, "web", 2);
  host.in_flight["web"] = RemovalInFlight(9);
  EXPECT_THAT(PlanHost(host, Desired({})), IsEmpty());
  host.in_flight.clear();
  host.failures["web"] = {.remove = true, .step = "units", .error = "stop failed"};
  EXPECT_THAT(PlanHost(host, Desired({})), IsEmpty());
}

TEST(PlanHostTest, FailedRemovalDoesNotBlockADeployOfTheReappliedApp) {
  HostView host = Host("h1");
  Runs(host, "web", 2);
  host.failures["web"] = {.remove = true, .step = "units", .error = "stop failed"};
  EXPECT_THAT(PlanHost(host, Desired({App("web", 3)})), ElementsAre(Deploy("web", 3)));
}

}  // namespace
}  // namespace pyservice::controller::fleet
