#include "controller/fleet/fleet_state_metrics.h"

#include <string>

#include "common/api/rollout_names.h"
#include "common/status/status_macros.h"
#include "spdlog/spdlog.h"

namespace pyservice::controller::fleet {
namespace {

// Every rollout state, so each app shows 1 for its latest rollout's state
// and 0 for the others (alerts can test `== 1` without absent()).
constexpr v1::RolloutState kRolloutStates[] = {
    v1::ROLLOUT_STATE_PENDING,   v1::ROLLOUT_STATE_RUNNING,
    v1::ROLLOUT_STATE_AWAITING_PROMOTION, v1::ROLLOUT_STATE_PAUSED,
    v1::ROLLOUT_STATE_SUCCEEDED, v1::ROLLOUT_STATE_FAILED,
    v1::ROLLOUT_STATE_ABORTED,   v1::ROLLOUT_STATE_ROLLED_BACK};

}  // namespace

absl::Status AddFleetStateMetrics(metrics::Registry& registry, const Fleet& fleet, Store& store) {
  ASSIGN_OR_RETURN(metrics::GaugeFamily * hosts,
                   registry.AddGauge("pyservice_controller_hosts",
                                     "Known hosts by state: connected, lost (stream up but "
                                     "silent), disconnected.",
                                     {"state"}));
  ASSIGN_OR_RETURN(metrics::GaugeFamily * sessions,
                   registry.AddGauge("pyservice_controller_agent_sessions",
                                     "Agent streams open now (after their Hello)."));
  ASSIGN_OR_RETURN(metrics::GaugeFamily * apps,
                   registry.AddGauge("pyservice_controller_apps", "Apps present (not deleted)."));
  ASSIGN_OR_RETURN(metrics::GaugeFamily * revision,
                   registry.AddGauge("pyservice_controller_app_revision",
                                     "Each app's current revision number.", {"app"}));
  ASSIGN_OR_RETURN(metrics::GaugeFamily * rollout_state,
                   registry.AddGauge("pyservice_controller_rollout_state",
                                     "1 for the state of each app's latest rollout, 0 for the "
                                     "other states.",
                                     {"app", "state"}));
  registry.AddCollector([&fleet, &store, hosts, sessions, apps, revision, rollout_state] {
    int connected = 0, lost = 0, disconnected = 0, open_sessions = 0;
    for (const HostSummary& host : fleet.registry().ListHosts()) {
      ++(host.connected ? connected : host.lost ? lost : disconnected);
      if (fleet.registry().Session(host.name) != nullptr) ++open_sessions;
    }
    hosts->Labels({"connected"}).Set(connected);
    hosts->Labels({"lost"}).Set(lost);
    hosts->Labels({"disconnected"}).Set(disconnected);
    sessions->Labels({}).Set(open_sessions);

    const std::shared_ptr<const DesiredSet> desired = fleet.Desired();
    apps->Labels({}).Set(static_cast<double>(desired->size()));
    revision->Clear();
    rollout_state->Clear();
    for (const auto& [name, app] : *desired) {
      revision->Labels({name}).Set(app.revision);
      absl::StatusOr<std::optional<StoredRollout>> latest = store.LatestRollout(name);
      if (!latest.ok()) {
        spdlog::warn("metrics: cannot read the latest rollout of {}: {}", name,
                     std::string(latest.status().message()));
        continue;
      }
      if (!latest->has_value()) continue;
      v1::RolloutRecord record;
      if (!record.ParseFromString((*latest)->record)) continue;
      for (const v1::RolloutState state : kRolloutStates) {
        rollout_state->Labels({name, RolloutStateName(state)}).Set(record.state() == state);
      }
    }
  });
  return absl::OkStatus();
}

}  // namespace pyservice::controller::fleet
