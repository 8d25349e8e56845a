// The operator API's views of the fleet that more than one reader shows:
// `pyctl get hosts` (ListHosts) and the web dashboard (controller/
// dashboard/) list hosts and active rollouts the same way.
#ifndef PYSERVICE_CONTROLLER_SERVICE_FLEET_VIEWS_H_
#define PYSERVICE_CONTROLLER_SERVICE_FLEET_VIEWS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "controller/fleet/fleet_registry.h"
#include "controller/store/store.h"
#include "pyservice/v1/controller.pb.h"

namespace pyservice::controller {

// One host as the API shows it.
v1::Host ToApiHost(const fleet::HostSummary& summary);

// Every known host, by name.
std::vector<v1::Host> HostViews(const fleet::FleetRegistry& registry);

// Every active rollout, by id, with every host's live state.
absl::StatusOr<std::vector<v1::Rollout>> ActiveRolloutViews(Store& store,
                                                            const fleet::FleetRegistry& registry);

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_SERVICE_FLEET_VIEWS_H_
