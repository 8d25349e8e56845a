// The dashboard's data: the operator API's views of hosts, app health and
// active rollouts (the same builders as ListHosts, GetStatus and
// GetRollout) in one v1::FleetSnapshot, and its JSON.
#ifndef PYSERVICE_CONTROLLER_DASHBOARD_FLEET_SNAPSHOT_H_
#define PYSERVICE_CONTROLLER_DASHBOARD_FLEET_SNAPSHOT_H_

#include <string>

#include "absl/status/statusor.h"
#include "controller/fleet/fleet.h"
#include "controller/store/store.h"
#include "pyservice/v1/dashboard.pb.h"

namespace pyservice::controller::dashboard {

// Reads the fleet now. Errors are the store's (reading active rollouts).
absl::StatusOr<v1::FleetSnapshot> BuildFleetSnapshot(Store& store, const fleet::Fleet& fleet);

// Drops what the page does not show and need not leave the controller:
// each rollout's strategy (it comes from the app's spec).
void StripForDashboard(v1::FleetSnapshot& snapshot);

// Protobuf's JSON mapping with the proto field names and every field
// present (false, 0, "" and [] included, so the page needs no defaults),
// on one line. INTERNAL when protobuf refuses it (a string that is not
// UTF-8, which the agent protocol does not let in).
absl::StatusOr<std::string> FleetSnapshotJson(const v1::FleetSnapshot& snapshot);

}  // namespace pyservice::controller::dashboard

#endif  // PYSERVICE_CONTROLLER_DASHBOARD_FLEET_SNAPSHOT_H_
