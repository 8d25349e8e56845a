#include "agent/daemon/agent_metrics.h"

#include <string>

#include "common/metrics/step_metrics.h"
#include "common/status/status_macros.h"

namespace pyservice::agent {
namespace {

// The `state` label of the app health gauge; one series per state, 1 for
// the app's current one.
constexpr std::pair<v1::HealthState, const char*> kHealthStates[] = {
    {v1::HEALTH_STATE_UNKNOWN, "unknown"},
    {v1::HEALTH_STATE_HEALTHY, "healthy"},
    {v1::HEALTH_STATE_PROGRESSING, "progressing"},
    {v1::HEALTH_STATE_DEGRADED, "degraded"},
    {v1::HEALTH_STATE_FAILED, "failed"}};

}  // namespace

absl::StatusOr<std::unique_ptr<AgentMetrics>> AgentMetrics::Register(
    metrics::Registry& registry) {
  std::unique_ptr<AgentMetrics> agent_metrics(new AgentMetrics());
  ASSIGN_OR_RETURN(agent_metrics->step_seconds_,
                   registry.AddHistogram("pyservice_agent_step_duration_seconds",
                                         "Install pipeline step durations, by step and result "
                                         "(done, unchanged, failed).",
                                         {"step", "result"}, metrics::StepDurationBuckets()));
  ASSIGN_OR_RETURN(agent_metrics->deploys_,
                   registry.AddCounter("pyservice_agent_deploys_total",
                                       "Deploys (and removals) finished, by app and result "
                                       "(succeeded, failed, rolled_back).",
                                       {"app", "result"}));
  ASSIGN_OR_RETURN(agent_metrics->app_health_,
                   registry.AddGauge("pyservice_agent_app_health",
                                     "1 for each app's last reported unit health state "
                                     "(healthy, progressing, degraded, failed, unknown), 0 for "
                                     "the others.",
                                     {"app", "state"}));
  ASSIGN_OR_RETURN(agent_metrics->connected_,
                   registry.AddGauge("pyservice_agent_controller_connected",
                                     "1 while the stream to the controller is up (welcomed)."));
  ASSIGN_OR_RETURN(agent_metrics->sessions_,
                   registry.AddCounter("pyservice_agent_controller_sessions_total",
                                       "Streams to the controller that were welcomed; more than "
                                       "one means reconnects."));
  agent_metrics->connected_->Labels({}).Set(0);
  agent_metrics->sessions_->Labels({});
  return agent_metrics;
}

void AgentMetrics::Record(const v1::AgentMessage& message) {
  switch (message.message_case()) {
    case v1::AgentMessage::kProgress: {
      const v1::StepProgress& progress = message.progress();
      const std::string result = metrics::StepResultLabel(progress.state());
      if (!result.empty()) {
        step_seconds_->Labels({progress.step(), result}).Observe(progress.elapsed_ms() / 1000.0);
      }
      break;
    }
    case v1::AgentMessage::kResult: {
      const v1::DeployResult& result = message.result();
      deploys_->Labels({result.app(), result.ok()            ? "succeeded"
                                      : result.rolled_back() ? "rolled_back"
                                                             : "failed"})
          .Inc();
      if (result.has_live() && !result.live().app().empty()) RecordHealth(result.live());
      break;
    }
    case v1::AgentMessage::kHealth:
      RecordHealth(message.health());
      break;
    default:
      break;
  }
}

void AgentMetrics::RecordHealth(const v1::AppHealth& health) {
  for (const auto& [state, name] : kHealthStates) {
    app_health_->Labels({health.app(), name}).Set(health.health() == state ? 1 : 0);
  }
}

void AgentMetrics::LinkChanged(bool connected) {
  connected_->Labels({}).Set(connected ? 1 : 0);
  if (connected) sessions_->Labels({}).Inc();
}

}  // namespace pyservice::agent
