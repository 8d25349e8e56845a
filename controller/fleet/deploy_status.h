// Deploy tracking for watchers: where one host stands with one revision of
// an app (pending / deploying / healthy / failed), derived from the host's
// view (reports, deploy in flight with its latest step, last failure). The
// registry keeps no separate tracking table: everything a watcher needs is
// already in the HostView, so the two can never disagree.
#ifndef PYSERVICE_CONTROLLER_FLEET_DEPLOY_STATUS_H_
#define PYSERVICE_CONTROLLER_FLEET_DEPLOY_STATUS_H_

#include <cstdint>
#include <string>

#include "controller/fleet/host_view.h"
#include "pyservice/v1/controller.pb.h"

namespace pyservice::controller::fleet {

// `host`'s progress with revision `revision` (spec digest `digest`) of
// `app`:
//  * HEALTHY when it runs that digest, no deploy of it is in flight, the
//    agent does not say the release is unverified, and its reported
//    health is HEALTHY. What a host reports is all a restarted controller
//    knows (the results of deploys that ended while it was down are
//    lost), so "not failed" is not enough: a release switched in by a
//    deploy the agent stopped during verify, a deploy still running (one
//    sent by a controller before a restart) and units still starting all
//    report the new digest before the deploy's gate passed;
//  * FAILED when it runs that digest with health FAILED, or when that
//    revision's deploy failed there (failed_step, error);
//  * DEPLOYING while a deploy of that revision is in flight (latest step),
//    or when the host runs that digest but is not HEALTHY yet or unverified
//    (step "verify", step_message saying why);
//  * PENDING otherwise.
// Sets every field but `left`.
v1::HostDeployProgress DeployProgressOf(const HostView& host, const std::string& app,
                                        uint32_t revision, const std::string& digest);

// Whether `reported` counts as running its release: a verified one (not
// AppHealth.unverified). The reconciler sends the deploy again to a host
// whose release is unverified (the agent resumes and verifies it).
inline bool RunsVerified(const v1::AppHealth& reported) { return !reported.unverified(); }

// Finished: healthy or failed.
inline bool IsSettled(v1::HostDeployState state) {
  return state == v1::HOST_DEPLOY_STATE_HEALTHY || state == v1::HOST_DEPLOY_STATE_FAILED;
}

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_DEPLOY_STATUS_H_
