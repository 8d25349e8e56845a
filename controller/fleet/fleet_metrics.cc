#include "controller/fleet/fleet_metrics.h"

#include "common/metrics/step_metrics.h"
#include "common/status/status_macros.h"

namespace pyservice::controller::fleet {

absl::StatusOr<std::unique_ptr<FleetMetrics>> FleetMetrics::Register(
    metrics::Registry& registry) {
  std::unique_ptr<FleetMetrics> fleet_metrics(new FleetMetrics());
  ASSIGN_OR_RETURN(fleet_metrics->sessions_,
                   registry.AddCounter("pyservice_controller_agent_sessions_started_total",
                                       "Agent sessions accepted (a Hello), reconnects included."));
  ASSIGN_OR_RETURN(fleet_metrics->deploys_sent_,
                   registry.AddCounter("pyservice_controller_deploys_sent_total",
                                       "Requests sent to agents, by app and kind "
                                       "(deploy, prepare, remove, cancel).",
                                       {"app", "kind"}));
  ASSIGN_OR_RETURN(fleet_metrics->deploy_results_,
                   registry.AddCounter("pyservice_controller_deploy_results_total",
                                       "Deploy results reported by agents, by app and result "
                                       "(succeeded, failed).",
                                       {"app", "result"}));
  ASSIGN_OR_RETURN(fleet_metrics->step_seconds_,
                   registry.AddHistogram("pyservice_controller_step_duration_seconds",
                                         "Pipeline step durations reported by agents, by step and "
                                         "result (done, unchanged, failed).",
                                         {"step", "result"}, metrics::StepDurationBuckets()));
  ASSIGN_OR_RETURN(fleet_metrics->gate_failures_,
                   registry.AddCounter("pyservice_controller_rollout_gate_failures_total",
                                       "Rollouts ended by a wave failing its gate, by app.",
                                       {"app"}));
  return fleet_metrics;
}

void FleetMetrics::SessionStarted() { sessions_->Labels({}).Inc(); }

void FleetMetrics::DeploySent(const std::string& app, absl::string_view kind) {
  deploys_sent_->Labels({app, std::string(kind)}).Inc();
}

void FleetMetrics::DeployFinished(const std::string& app, bool ok) {
  deploy_results_->Labels({app, ok ? "succeeded" : "failed"}).Inc();
}

void FleetMetrics::StepFinished(const v1::StepProgress& progress) {
  const std::string result = metrics::StepResultLabel(progress.state());
  if (result.empty()) return;
  step_seconds_->Labels({progress.step(), result}).Observe(progress.elapsed_ms() / 1000.0);
}

void FleetMetrics::RolloutGateFailed(const std::string& app) {
  gate_failures_->Labels({app}).Inc();
}

}  // namespace pyservice::controller::fleet
