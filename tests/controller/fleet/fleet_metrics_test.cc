#include "controller/fleet/fleet_metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::controller::fleet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::StepProgress Progress(const std::string& step, v1::StepState state, uint32_t elapsed_ms) {
  v1::StepProgress progress;
  progress.set_app("web");
  progress.set_step(step);
  progress.set_state(state);
  progress.set_elapsed_ms(elapsed_ms);
  return progress;
}

TEST(FleetMetricsTest, OnlyFinishedStepsAreTimedByStepAndResult) {
  metrics::Registry registry;
  absl::StatusOr<std::unique_ptr<FleetMetrics>> fleet_metrics = FleetMetrics::Register(registry);
  ASSERT_TRUE(fleet_metrics.ok()) << fleet_metrics.status();
  (*fleet_metrics)->StepFinished(Progress("checkout", v1::STEP_STATE_RUNNING, 100));
  (*fleet_metrics)->StepFinished(Progress("checkout", v1::STEP_STATE_DONE, 1500));
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("pyservice_controller_step_duration_seconds_count"
                              "{step=\"checkout\",result=\"done\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("pyservice_controller_step_duration_seconds_sum"
                              "{step=\"checkout\",result=\"done\"} 1.5\n"));
  EXPECT_THAT(text, Not(HasSubstr("result=\"\"")));
}

TEST(FleetMetricsTest, CountsDeploysSentResultsAndGateFailuresPerApp) {
  metrics::Registry registry;
  absl::StatusOr<std::unique_ptr<FleetMetrics>> fleet_metrics = FleetMetrics::Register(registry);
  ASSERT_TRUE(fleet_metrics.ok()) << fleet_metrics.status();
  (*fleet_metrics)->DeploySent("web", "deploy");
  (*fleet_metrics)->DeploySent("web", "deploy");
  (*fleet_metrics)->DeployFinished("web", false);
  (*fleet_metrics)->RolloutGateFailed("web");
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("pyservice_controller_deploys_sent_total{app=\"web\",kind="
                              "\"deploy\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("pyservice_controller_deploy_results_total{app=\"web\",result="
                              "\"failed\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("pyservice_controller_rollout_gate_failures_total{app=\"web\"} 1\n"));
}

}  // namespace
}  // namespace pyservice::controller::fleet
