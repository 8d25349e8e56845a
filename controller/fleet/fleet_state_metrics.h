// The fleet's current state as gauges, read at every scrape (a collector on
// the metrics registry) rather than tracked by every writer: hosts by state,
// live agent sessions, apps, each app's current revision, and the state of
// each app's latest rollout.
#ifndef PYSERVICE_CONTROLLER_FLEET_FLEET_STATE_METRICS_H_
#define PYSERVICE_CONTROLLER_FLEET_FLEET_STATE_METRICS_H_

#include "absl/status/status.h"
#include "common/metrics/registry.h"
#include "controller/fleet/fleet.h"
#include "controller/store/store.h"

namespace pyservice::controller::fleet {

// Registers the gauges and their collector. `fleet` and `store` must outlive
// `registry`'s last Render().
absl::Status AddFleetStateMetrics(metrics::Registry& registry, const Fleet& fleet, Store& store);

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_FLEET_STATE_METRICS_H_
