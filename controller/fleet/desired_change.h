// Which hosts a change of one app's desired state can give new work, so a
// rollout's wave start reconciles that wave (and the hosts now preparing)
// instead of every host of the fleet: at 10,000 hosts planning them all
// took ~50 ms before the wave's first DeployRequest left (docs/BENCHMARKS.md).
#ifndef PYSERVICE_CONTROLLER_FLEET_DESIRED_CHANGE_H_
#define PYSERVICE_CONTROLLER_FLEET_DESIRED_CHANGE_H_

#include <optional>
#include <string>
#include <vector>

#include "controller/fleet/host_view.h"

namespace pyservice::controller::fleet {

// The hosts whose wanted revision of the app (DesiredApp::For) or whose
// preparation (DesiredApp::PreparesOn) differ between `before` and `after`
// (null: the app is not present), in no particular order. nullopt means
// "possibly every host": the app appeared or went, its revision, its
// previous revision or its targets changed, or the rollout started, ended
// or switched every host not in a wave. Only those hosts' plans
// (reconciler.h) can differ, since a plan reads the host and the desired
// set and nothing else of the app changed. A host may be listed twice.
std::optional<std::vector<std::string>> HostsWithChangedWork(const DesiredApp* before,
                                                             const DesiredApp* after);

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_DESIRED_CHANGE_H_
