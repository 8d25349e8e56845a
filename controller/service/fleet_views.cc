#include "controller/service/fleet_views.h"

#include "common/status/status_macros.h"
#include "common/time/rfc3339.h"
#include "controller/service/rollouts.h"

namespace pyservice::controller {

v1::Host ToApiHost(const fleet::HostSummary& summary) {
  v1::Host host;
  host.set_name(summary.name);
  host.set_connected(summary.connected);
  host.mutable_labels()->insert(summary.labels.begin(), summary.labels.end());
  host.set_last_seen(FormatRfc3339(summary.last_seen));
  host.set_agent_version(summary.agent_version);
  host.set_first_seen(FormatRfc3339(summary.first_seen));
  host.set_lost(summary.lost);
  host.set_apps(static_cast<uint32_t>(summary.apps));
  return host;
}

std::vector<v1::Host> HostViews(const fleet::FleetRegistry& registry) {
  std::vector<v1::Host> hosts;
  for (const fleet::HostSummary& summary : registry.ListHosts()) {
    hosts.push_back(ToApiHost(summary));
  }
  return hosts;
}

absl::StatusOr<std::vector<v1::Rollout>> ActiveRolloutViews(Store& store,
                                                            const fleet::FleetRegistry& registry) {
  ASSIGN_OR_RETURN(const std::vector<StoredRollout> active, store.ActiveRollouts());
  std::vector<v1::Rollout> rollouts;
  rollouts.reserve(active.size());
  for (const StoredRollout& stored : active) {
    ASSIGN_OR_RETURN(v1::Rollout rollout, DescribeStoredRollout(store, registry, stored));
    rollouts.push_back(std::move(rollout));
  }
  return rollouts;
}

}  // namespace pyservice::controller
