// What a rollout sees of one host: the engine's HostObservation for its
// gate, and the operator's RolloutHost line. Both read the fleet's HostView
// (reports, the deploy in flight, the last failure), so the gate and the
// display can never disagree.
#ifndef PYSERVICE_CONTROLLER_ROLLOUT_HOST_OBSERVATION_H_
#define PYSERVICE_CONTROLLER_ROLLOUT_HOST_OBSERVATION_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "controller/fleet/fleet_registry.h"
#include "controller/fleet/host_view.h"
#include "controller/rollout/rollout_engine.h"
#include "pyservice/v1/controller.pb.h"
#include "pyservice/v1/rollout_record.pb.h"

namespace pyservice::controller::rollout {

// The two revisions of a rollout, as hosts report them.
struct RolloutRevisions {
  std::string app;
  uint32_t to = 0;
  std::string to_digest;
  uint32_t from = 0;
  std::string from_digest;
};

// When a host that is not connected counts as gone for a gate. A lost host
// (its stream up, its heartbeats stopped) is gone at once: the fleet waited
// three heartbeats already. A host whose stream ended is given
// `reconnect_grace` from when it was last heard from (or from when this
// controller started listening, for hosts it has not heard from yet): an
// agent that restarts, or reconnects to a restarted controller with its
// backoff (up to 30 s), must not fail a wave.
struct GoneRule {
  absl::Duration reconnect_grace;
  absl::Time listening_since;
};

// The gate's view of `view` (null: a host the fleet does not know) with the
// rollout's new revision.
HostObservation ObserveHost(const fleet::HostView* view, const fleet::FleetRegistry::Liveness& liveness,
                            const RolloutRevisions& revisions, const GoneRule& gone,
                            absl::Time now);

// The operator's line for host `name` of wave `wave` (`started`: the wave
// has started), with the decided `outcome` and `error` of a finished wave
// (UNSPECIFIED / "" when undecided).
v1::RolloutHost DescribeHost(const std::string& name, const fleet::HostView* view,
                             const RolloutRevisions& revisions, v1::RolloutState state,
                             bool started, v1::RolloutHostState outcome,
                             const std::string& error);

// Whether a host line still moves: connected and deploying or verifying
// (which is also how a host on its way back after a rollback or abort
// shows).
bool IsMoving(const v1::RolloutHost& host);

}  // namespace pyservice::controller::rollout

#endif  // PYSERVICE_CONTROLLER_ROLLOUT_HOST_OBSERVATION_H_
