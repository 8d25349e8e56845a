// An app's health as the agent reports it (AppHealth in agent.proto), from
// its state record and its units' states. Pure functions: the daemon's
// health watcher (agent/daemon/health_watcher.h) feeds them what systemd
// signals.
#ifndef PYSERVICE_AGENT_HEALTH_APP_HEALTH_H_
#define PYSERVICE_AGENT_HEALTH_APP_HEALTH_H_

#include <string>
#include <vector>

#include "agent/systemd/systemd_manager.h"
#include "pyservice/v1/agent.pb.h"
#include "pyservice/v1/agent_state.pb.h"

namespace pyservice::agent {

// One unit of an app, as last seen.
struct WatchedUnit {
  UnitState state;  // empty active_state: not known (systemd unreachable)
  // Started by the deploy (services, timers). A timer's service is not: it
  // is inactive between runs, and only its failure counts.
  bool activated = true;
};

// The rules, first match wins:
//  * a deploy (or removal) runs: PROGRESSING;
//  * a unit failed, a timer's service's last run failed (its Result is not
//    "success"), an activated unit is inactive (stopped by hand, or never
//    started), or the live release may be broken (`live_broken`: a failed
//    deploy that could not be rolled back): FAILED;
//  * an activated unit's state is not known: UNKNOWN;
//  * an activated unit is activating, deactivating or reloading (e.g. a
//    service between crashes and restarts): DEGRADED;
//  * otherwise (every activated unit active): HEALTHY. A timer whose
//    service has not run yet is healthy (pending): nothing failed, and a
//    rollout must not wait for a schedule that may be a week away.
v1::HealthState ComputeHealth(const std::vector<WatchedUnit>& units, bool deploying,
                              bool live_broken);

// Whether `state`'s last pipeline run failed (AppState.last_result).
bool LastDeployFailed(const v1::AppState& state);
// Whether a failed deploy may have left the live release half-new
// (AppState.live_broken): then the app is FAILED whatever its units say.
bool LiveReleaseBroken(const v1::AppState& state);

// Whether the live release is the one of a deploy still recorded in
// flight (AppState.in_flight, same release and spec digest): switched in at
// the units step, its verify not passed (the agent stopped during it).
bool LiveReleaseUnverified(const v1::AppState& state);

// The units of the app's live release in unit_renderer.h's order, named
// and flagged, their states not known yet; empty when nothing is live.
std::vector<WatchedUnit> LiveUnits(const v1::AppState& state);

// The AppHealth of `state`'s app: the live release's revision, tag, commit
// and spec digest, every unit, the health by ComputeHealth, whether the
// live release is unverified (LiveReleaseUnverified, outside a deploy)
// and, when not healthy, why (the failed unit, or the last deploy's error).
v1::AppHealth BuildAppHealth(const v1::AppState& state, const std::vector<WatchedUnit>& units,
                             bool deploying);

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_HEALTH_APP_HEALTH_H_
