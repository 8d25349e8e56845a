#include "agent/health/app_health.h"

#include "common/spec/app_spec_parser.h"
#include "common/spec/canonical.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

WatchedUnit Unit(const std::string& name, const std::string& active, const std::string& sub,
                 bool activated = true) {
  WatchedUnit unit;
  unit.state.name = name;
  unit.state.active_state = active;
  unit.state.sub_state = sub;
  unit.activated = activated;
  return unit;
}

// A web service, a timer and the timer's service.
std::vector<WatchedUnit> App(const std::string& web, const std::string& timer = "active",
                             const std::string& job = "inactive") {
  return {Unit("hello-web.service", web, "x"), Unit("hello-report.timer", timer, "waiting"),
          Unit("hello-report.service", job, "dead", /*activated=*/false)};
}

TEST(ComputeHealthTest, EveryActivatedUnitActiveIsHealthy) {
  EXPECT_EQ(ComputeHealth(App("active"), false, false), v1::HEALTH_STATE_HEALTHY);
}

TEST(ComputeHealthTest, ATimersServiceBetweenRunsOrRunningIsFine) {
  EXPECT_EQ(ComputeHealth(App("active", "active", "inactive"), false, false),
            v1::HEALTH_STATE_HEALTHY);
  EXPECT_EQ(ComputeHealth(App("active", "active", "activating"), false, false),
            v1::HEALTH_STATE_HEALTHY);
}

TEST(ComputeHealthTest, AFailedUnitIsFailedEvenATimersService) {
  EXPECT_EQ(ComputeHealth(App("failed"), false, false), v1::HEALTH_STATE_FAILED);
  EXPECT_EQ(ComputeHealth(App("active", "active", "failed"), false, false),
            v1::HEALTH_STATE_FAILED);
}

TEST(ComputeHealthTest, AStoppedServiceIsFailed) {
  EXPECT_EQ(ComputeHealth(App("inactive"), false, false), v1::HEALTH_STATE_FAILED);
  EXPECT_EQ(ComputeHealth(App("active", "inactive"), false, false), v1::HEALTH_STATE_FAILED);
}

TEST(ComputeHealthTest, TransitionsAreDegraded) {
  for (const char* state : {"activating", "deactivating", "reloading"}) {
    EXPECT_EQ(ComputeHealth(App(state), false, false), v1::HEALTH_STATE_DEGRADED) << state;
  }
}

TEST(ComputeHealthTest, FailedWinsOverDegraded) {
  EXPECT_EQ(ComputeHealth(App("activating", "failed"), false, false), v1::HEALTH_STATE_FAILED);
}

TEST(ComputeHealthTest, UnknownStateIsUnknownUnlessSomethingFailed) {
  EXPECT_EQ(ComputeHealth(App(""), false, false), v1::HEALTH_STATE_UNKNOWN);
  EXPECT_EQ(ComputeHealth(App("", "failed"), false, false), v1::HEALTH_STATE_FAILED);
}

TEST(ComputeHealthTest, ARunningDeployIsProgressingWhateverTheUnits) {
  EXPECT_EQ(ComputeHealth(App("failed"), true, true), v1::HEALTH_STATE_PROGRESSING);
}

TEST(ComputeHealthTest, ABrokenLiveReleaseIsFailedWithHealthyUnits) {
  EXPECT_EQ(ComputeHealth(App("active"), false, true), v1::HEALTH_STATE_FAILED);
}

v1::AppState Deployed() {
  absl::StatusOr<v1::AppSpec> spec = spec::ParseAppSpec(
      "name: hello\nrepo: file:///srv/git/hello.git\ntag: v2\n"
      "services:\n  - name: web\n    command: python -m hello web\n"
      "timers:\n  - name: report\n    schedule: daily\n    command: python -m hello report\n",
      "app.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status();
  v1::AppState state;
  state.set_app("hello");
  v1::ReleaseRecord* live = state.mutable_live();
  live->set_id("v2-222222222222");
  live->set_commit(std::string(40, '2'));
  *live->mutable_spec() = *spec;
  live->set_spec_digest(spec::UnkeyedSpecDigest(*spec));
  live->set_revision(7);
  state.set_last_result("deployed v2-222222222222");
  return state;
}

TEST(LiveUnitsTest, TheLiveSpecsUnitsWithTheTimersServiceNotActivated) {
  std::vector<WatchedUnit> units = LiveUnits(Deployed());
  ASSERT_EQ(units.size(), 3u);
  EXPECT_EQ(units[0].state.name, "hello-web.service");
  EXPECT_TRUE(units[0].activated);
  EXPECT_EQ(units[1].state.name, "hello-report.service");
  EXPECT_FALSE(units[1].activated);
  EXPECT_EQ(units[2].state.name, "hello-report.timer");
  EXPECT_TRUE(units[2].activated);
  EXPECT_TRUE(LiveUnits(v1::AppState()).empty()) << "nothing live, nothing to watch";
}

TEST(BuildAppHealthTest, CarriesTheLiveReleaseAndEveryUnit) {
  const v1::AppState state = Deployed();
  v1::AppHealth health = BuildAppHealth(state, App("active"), false);
  EXPECT_EQ(health.app(), "hello");
  EXPECT_EQ(health.revision(), 7u);
  EXPECT_EQ(health.tag(), "v2");
  EXPECT_EQ(health.commit(), std::string(40, '2'));
  EXPECT_EQ(health.spec_digest(), state.live().spec_digest());
  EXPECT_EQ(health.health(), v1::HEALTH_STATE_HEALTHY);
  EXPECT_EQ(health.message(), "");
  ASSERT_EQ(health.units_size(), 3);
  EXPECT_EQ(health.units(0).unit(), "hello-web.service");
  EXPECT_EQ(health.units(0).active_state(), "active");
  EXPECT_EQ(health.units(0).sub_state(), "x");
}

TEST(BuildAppHealthTest, SaysWhichUnitIsWrong) {
  v1::AppHealth health = BuildAppHealth(Deployed(), App("failed"), false);
  EXPECT_EQ(health.health(), v1::HEALTH_STATE_FAILED);
  EXPECT_EQ(health.message(), "hello-web.service is failed/x");
}

TEST(BuildAppHealthTest, RolledBackDeployIsHealthyOnTheKeptReleaseAndSaysWhatFailed) {
  v1::AppState state = Deployed();
  state.set_last_result("failed: verify: hello-web.service is failed/failed; rolled back to v1");
  v1::AppHealth health = BuildAppHealth(state, App("active"), false);
  EXPECT_EQ(health.health(), v1::HEALTH_STATE_HEALTHY);
  EXPECT_THAT(health.message(), HasSubstr("rolled back to v1"));
}

TEST(BuildAppHealthTest, ABrokenLiveReleaseIsFailedWithHealthyUnits) {
  v1::AppState state = Deployed();
  state.set_last_result("failed: units: boom; rollback to v1 failed too: gone");
  state.set_live_broken(true);
  v1::AppHealth health = BuildAppHealth(state, App("active"), false);
  EXPECT_EQ(health.health(), v1::HEALTH_STATE_FAILED);
  EXPECT_THAT(health.message(), HasSubstr("failed too"));
}

// An agent stopped during verify: the units step recorded the new release
// live, the deploy is still in flight (same release, same digest).
v1::AppState SwitchedInNotVerified() {
  v1::AppState state = Deployed();
  v1::InFlightDeploy* in_flight = state.mutable_in_flight();
  *in_flight->mutable_spec() = state.live().spec();
  *in_flight->mutable_release() = state.live();
  in_flight->set_spec_digest(state.live().spec_digest());
  in_flight->add_completed_steps("units");
  return state;
}

TEST(BuildAppHealthTest, ALiveReleaseSwitchedInByADeployStillInFlightIsUnverified) {
  const v1::AppHealth health = BuildAppHealth(SwitchedInNotVerified(), App("active"), false);
  EXPECT_TRUE(health.unverified());
  EXPECT_EQ(health.spec_digest(), SwitchedInNotVerified().live().spec_digest())
      << "what runs is still reported";
  EXPECT_THAT(health.message(), HasSubstr("before its verify passed"));
}

TEST(BuildAppHealthTest, AFinishedDeployIsVerified) {
  EXPECT_FALSE(BuildAppHealth(Deployed(), App("active"), false).unverified());
}

TEST(BuildAppHealthTest, AnUnfinishedDeployOfAnotherReleaseLeavesTheLiveOneVerified) {
  // A deploy that failed before its switch (or a preparation) waits in
  // flight with its own release: the live one is the verified old one.
  v1::AppState state = SwitchedInNotVerified();
  state.mutable_in_flight()->mutable_release()->set_id("v3-333333333333");
  state.mutable_in_flight()->set_spec_digest("other");
  EXPECT_FALSE(BuildAppHealth(state, App("active"), false).unverified());
  // The same commit under another spec (e.g. its config changed).
  state = SwitchedInNotVerified();
  state.mutable_in_flight()->set_spec_digest("other");
  EXPECT_FALSE(BuildAppHealth(state, App("active"), false).unverified());
}

TEST(BuildAppHealthTest, WhileADeployRunsNothingIsSaidUnverified) {
  EXPECT_FALSE(BuildAppHealth(SwitchedInNotVerified(), App("active"), true).unverified());
}

// The timer's service after a run: how it ended, as GetUnitState reads it.
std::vector<WatchedUnit> AfterRun(const std::string& active, const std::string& result,
                                  int32_t status) {
  std::vector<WatchedUnit> units = App("active", "active", active);
  UnitState& job = units[2].state;
  job.result = result;
  job.exec_main_status = status;
  job.exec_main_start_time = absl::FromUnixSeconds(1'700'000'000);
  return units;
}

TEST(TimerHealthTest, LastRunExitedNonZero_FailedNamingTheUnitAndResult) {
  v1::AppHealth health = BuildAppHealth(Deployed(), AfterRun("failed", "exit-code", 1), false);
  EXPECT_EQ(health.health(), v1::HEALTH_STATE_FAILED);
  EXPECT_EQ(health.message(), "hello-report.service last run failed: result exit-code, exit status 1");
  EXPECT_EQ(health.units(2).result(), "exit-code");
  EXPECT_EQ(health.units(2).exec_main_status(), 1);
}

TEST(TimerHealthTest, FailedResultCountsEvenWhenTheStateSaysInactive) {
  EXPECT_EQ(ComputeHealth(AfterRun("inactive", "timeout", 0), false, false),
            v1::HEALTH_STATE_FAILED);
}

TEST(TimerHealthTest, LastRunSucceeded_HealthyWithItsResult) {
  v1::AppHealth health = BuildAppHealth(Deployed(), AfterRun("inactive", "success", 0), false);
  EXPECT_EQ(health.health(), v1::HEALTH_STATE_HEALTHY);
  EXPECT_EQ(health.units(2).result(), "success");
}

TEST(TimerHealthTest, NotRunYet_HealthyPendingWithNoResult) {
  std::vector<WatchedUnit> units = App("active", "active", "inactive");
  units[2].state.result = "success";  // what systemd says before any run
  v1::AppHealth health = BuildAppHealth(Deployed(), units, false);
  EXPECT_EQ(health.health(), v1::HEALTH_STATE_HEALTHY);
  EXPECT_EQ(health.units(2).result(), "");
  EXPECT_EQ(health.message(), "");
}

TEST(TimerHealthTest, FailedSignalWithoutResultYet_SaysTheLastRunFailed) {
  v1::AppHealth health = BuildAppHealth(Deployed(), App("active", "active", "failed"), false);
  EXPECT_EQ(health.health(), v1::HEALTH_STATE_FAILED);
  EXPECT_EQ(health.message(), "hello-report.service last run failed (failed/dead)");
}

}  // namespace
}  // namespace pyservice::agent
