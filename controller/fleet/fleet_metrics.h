// What the fleet counts as it happens, for GET /metrics: agent sessions,
// deploy requests sent and their results, step durations from agents'
// progress, rollout gates that failed. The fleet's current state (hosts,
// apps, rollout states) is read at scrape time instead (fleet_state_metrics.h).
//
// Labels carry app and step names only: never a host (unbounded series on a
// large fleet), an error text or anything from a spec.
#ifndef PYSERVICE_CONTROLLER_FLEET_FLEET_METRICS_H_
#define PYSERVICE_CONTROLLER_FLEET_FLEET_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/metrics/registry.h"
#include "pyservice/v1/agent.pb.h"

namespace pyservice::controller::fleet {

class FleetMetrics {
 public:
  // Registers the families in `registry`, which must outlive the result.
  static absl::StatusOr<std::unique_ptr<FleetMetrics>> Register(metrics::Registry& registry);

  // An agent's Hello was accepted (a new or replacing session).
  void SessionStarted();
  // kind: deploy|prepare|remove|cancel.
  void DeploySent(const std::string& app, absl::string_view kind);
  void DeployFinished(const std::string& app, bool ok);
  // A StepProgress that ends a step (done, unchanged or failed).
  void StepFinished(const v1::StepProgress& progress);
  // A rollout went to failed or rolled_back: one of its waves failed its gate.
  void RolloutGateFailed(const std::string& app);

 private:
  FleetMetrics() = default;

  metrics::CounterFamily* sessions_ = nullptr;
  metrics::CounterFamily* deploys_sent_ = nullptr;
  metrics::CounterFamily* deploy_results_ = nullptr;
  metrics::HistogramFamily* step_seconds_ = nullptr;
  metrics::CounterFamily* gate_failures_ = nullptr;
};

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_FLEET_METRICS_H_
