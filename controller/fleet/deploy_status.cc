#include "controller/fleet/deploy_status.h"

#include <string>

namespace pyservice::controller::fleet {
namespace {

std::string NotHealthyYet(const v1::AppHealth& reported) {
  switch (reported.health()) {
    case v1::HEALTH_STATE_PROGRESSING:
      return "runs it; a deploy is running there";
    case v1::HEALTH_STATE_DEGRADED:
      return "runs it; health degraded, not healthy yet";
    default:
      return "runs it; health not known yet";
  }
}

}  // namespace

v1::HostDeployProgress DeployProgressOf(const HostView& host, const std::string& app,
                                        uint32_t revision, const std::string& digest) {
  v1::HostDeployProgress progress;
  progress.set_host(host.name);
  const auto reported = host.apps.find(app);
  const auto in_flight = host.in_flight.find(app);
  const auto failure = host.failures.find(app);
  const bool deploying = in_flight != host.in_flight.end() && !in_flight->second.remove &&
                         !in_flight->second.prepare && in_flight->second.revision == revision;
  if (deploying) {
    const InFlightDeploy& deploy = in_flight->second;
    progress.set_state(v1::HOST_DEPLOY_STATE_DEPLOYING);
    progress.set_step(deploy.step);
    progress.set_step_state(deploy.step_state);
    progress.set_step_elapsed_ms(deploy.step_elapsed_ms);
    progress.set_step_message(deploy.step_message);
    return progress;
  }
  if (reported != host.apps.end() && !digest.empty() && reported->second.spec_digest() == digest) {
    if (reported->second.health() == v1::HEALTH_STATE_FAILED) {
      progress.set_state(v1::HOST_DEPLOY_STATE_FAILED);
      progress.set_error(reported->second.message());
      if (failure != host.failures.end() && failure->second.revision == revision) {
        progress.set_failed_step(failure->second.step);
        progress.set_error(failure->second.error);
      }
    } else if (reported->second.unverified() && failure != host.failures.end() &&
               !failure->second.remove && failure->second.revision == revision) {
      // Its deploy was sent again to verify it and did not.
      progress.set_state(v1::HOST_DEPLOY_STATE_FAILED);
      progress.set_failed_step(failure->second.step);
      progress.set_error(failure->second.error);
    } else if (reported->second.unverified()) {
      progress.set_state(v1::HOST_DEPLOY_STATE_DEPLOYING);
      progress.set_step("verify");
      progress.set_step_message("switched in, its verify not passed (the agent stopped during it)");
    } else if (reported->second.health() != v1::HEALTH_STATE_HEALTHY) {
      progress.set_state(v1::HOST_DEPLOY_STATE_DEPLOYING);
      progress.set_step("verify");
      progress.set_step_message(NotHealthyYet(reported->second));
    } else {
      progress.set_state(v1::HOST_DEPLOY_STATE_HEALTHY);
    }
    return progress;
  }
  if (failure != host.failures.end() && !failure->second.remove &&
      failure->second.revision == revision) {
    progress.set_state(v1::HOST_DEPLOY_STATE_FAILED);
    progress.set_failed_step(failure->second.step);
    progress.set_error(failure->second.error);
    return progress;
  }
  progress.set_state(v1::HOST_DEPLOY_STATE_PENDING);
  return progress;
}

}  // namespace pyservice::controller::fleet
