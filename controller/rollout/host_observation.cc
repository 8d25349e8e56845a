#include "controller/rollout/host_observation.h"

#include <algorithm>

#include "controller/fleet/deploy_status.h"

namespace pyservice::controller::rollout {
namespace {

bool RollsBack(v1::RolloutState state) {
  return state == v1::ROLLOUT_STATE_ROLLED_BACK || state == v1::ROLLOUT_STATE_ABORTED;
}

void CopyStep(const v1::HostDeployProgress& progress, v1::RolloutHost& line) {
  line.set_step(progress.step());
  line.set_step_state(progress.step_state());
  line.set_step_elapsed_ms(progress.step_elapsed_ms());
  line.set_step_message(progress.step_message());
}

v1::PrepareState PrepareOf(const fleet::HostView& view, const RolloutRevisions& revisions) {
  const auto in_flight = view.in_flight.find(revisions.app);
  if (in_flight != view.in_flight.end() && in_flight->second.prepare &&
      in_flight->second.digest == revisions.to_digest) {
    return v1::PREPARE_STATE_PREPARING;
  }
  const auto prepared = view.preparations.find(revisions.app);
  if (prepared == view.preparations.end() || prepared->second.digest != revisions.to_digest) {
    return v1::PREPARE_STATE_NONE;
  }
  return prepared->second.ok ? v1::PREPARE_STATE_PREPARED : v1::PREPARE_STATE_FAILED;
}

}  // namespace

HostObservation ObserveHost(const fleet::HostView* view,
                            const fleet::FleetRegistry::Liveness& liveness,
                            const RolloutRevisions& revisions, const GoneRule& gone,
                            absl::Time now) {
  HostObservation seen;
  if (view == nullptr) {
    seen.progress = HostObservation::Progress::kGone;
    return seen;
  }
  if (!view->connected) {
    const absl::Time heard = std::max(liveness.last_seen, gone.listening_since);
    if (liveness.lost || now - heard >= gone.reconnect_grace) {
      seen.progress = HostObservation::Progress::kGone;
    }
    return seen;
  }
  const v1::HostDeployProgress progress =
      fleet::DeployProgressOf(*view, revisions.app, revisions.to, revisions.to_digest);
  switch (progress.state()) {
    case v1::HOST_DEPLOY_STATE_HEALTHY:
      seen.progress = HostObservation::Progress::kHealthy;
      break;
    case v1::HOST_DEPLOY_STATE_FAILED:
      seen.progress = HostObservation::Progress::kFailed;
      seen.failed_step = progress.failed_step();
      seen.error = progress.error();
      break;
    default:
      break;
  }
  return seen;
}

v1::RolloutHost DescribeHost(const std::string& name, const fleet::HostView* view,
                             const RolloutRevisions& revisions, v1::RolloutState state,
                             bool started, v1::RolloutHostState outcome,
                             const std::string& error) {
  v1::RolloutHost line;
  line.set_host(name);
  line.set_connected(view != nullptr && view->connected);
  line.set_error(error);
  if (!started) {
    line.set_state(v1::ROLLOUT_HOST_STATE_PENDING);
    if (view != nullptr) line.set_prepare(PrepareOf(*view, revisions));
    return line;
  }
  if (!line.connected()) {
    // Out of touch: what the gate decided, else nothing known.
    line.set_state(outcome != v1::ROLLOUT_HOST_STATE_UNSPECIFIED ? outcome
                                                                 : v1::ROLLOUT_HOST_STATE_PENDING);
    return line;
  }
  if (RollsBack(state)) {
    const v1::HostDeployProgress back =
        fleet::DeployProgressOf(*view, revisions.app, revisions.from, revisions.from_digest);
    switch (back.state()) {
      case v1::HOST_DEPLOY_STATE_HEALTHY:
        line.set_state(v1::ROLLOUT_HOST_STATE_ROLLED_BACK);
        break;
      case v1::HOST_DEPLOY_STATE_FAILED:
        line.set_state(v1::ROLLOUT_HOST_STATE_FAILED);
        line.set_failed_step(back.failed_step());
        line.set_error(back.error());
        break;
      default:
        line.set_state(v1::ROLLOUT_HOST_STATE_DEPLOYING);
        CopyStep(back, line);
        break;
    }
    return line;
  }
  const v1::HostDeployProgress progress =
      fleet::DeployProgressOf(*view, revisions.app, revisions.to, revisions.to_digest);
  switch (progress.state()) {
    case v1::HOST_DEPLOY_STATE_HEALTHY:
      line.set_state(v1::ROLLOUT_HOST_STATE_HEALTHY);
      break;
    case v1::HOST_DEPLOY_STATE_FAILED:
      line.set_state(v1::ROLLOUT_HOST_STATE_FAILED);
      line.set_failed_step(progress.failed_step());
      line.set_error(progress.error());
      break;
    case v1::HOST_DEPLOY_STATE_DEPLOYING:
      line.set_state(progress.step() == "verify" ? v1::ROLLOUT_HOST_STATE_VERIFYING
                                                 : v1::ROLLOUT_HOST_STATE_DEPLOYING);
      CopyStep(progress, line);
      break;
    default:
      line.set_state(v1::ROLLOUT_HOST_STATE_PENDING);
      break;
  }
  return line;
}

bool IsMoving(const v1::RolloutHost& host) {
  // A host on its way back after a rollback shows as deploying too.
  return host.connected() && (host.state() == v1::ROLLOUT_HOST_STATE_DEPLOYING ||
                              host.state() == v1::ROLLOUT_HOST_STATE_VERIFYING);
}

}  // namespace pyservice::controller::rollout
