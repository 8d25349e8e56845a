// The reconciler's decisions: given what should run (DesiredSet) and what
// one host runs and has been asked (HostView), which DeployRequests and
// RemoveRequests to send it. Pure functions, apart from gRPC, threads and
// the store, so every rule is a unit test; fleet.cc applies their output.
// The rollout engine (controller/rollout) decides *which* revision each
// host should run (DesiredApp::For) and where to prepare one ahead; these
// rules stay what "converged" means.
//
// The rules, for a connected host (a disconnected or lost one gets nothing):
//  * An app targets the host when the host carries every label of the
//    spec's targets.labels (none: every host).
//  * A deploy or preparation in flight that is no longer wanted — the app
//    wants another revision on this host (a rollback, abort or undo, a new
//    rollout or apply), or was deleted, or no longer targets the host — is
//    canceled (CancelRequest, once): the agent kills its running step and
//    answers it, and the next pass sends what is wanted now. So a stuck
//    deploy never blocks a rollback or the next rollout. A removal in flight
//    is never canceled (it only stops units, each under its own timeout).
//  * A targeted app is deployed — the revision the app wants on this host —
//    unless the host already runs its digest, has a deploy or removal of
//    it in flight, or the same revision already failed there (failures are
//    not retried until another revision is wanted).
//  * A host that runs what it should and is to prepare the app's current
//    revision ahead of its wave gets a prepare_only request, once per
//    digest (a failed preparation is not retried: the wave deploys in full).
//  * An app the host reports but should not run — deleted, or no longer
//    targeting it — is removed, unless something is in flight for it or a
//    removal already failed there. Apps deployed locally (revision 0, with
//    `pyservice-agent apply`) are the operator's and are never removed; the
//    controller only deploys over them when an app of the same name targets
//    the host.
#ifndef PYSERVICE_CONTROLLER_FLEET_RECONCILER_H_
#define PYSERVICE_CONTROLLER_FLEET_RECONCILER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "controller/fleet/host_view.h"

namespace pyservice::controller::fleet {

struct ReconcileAction {
  enum class Kind { kDeploy, kPrepare, kRemove, kCancel };
  Kind kind = Kind::kDeploy;
  std::string app;
  // For kDeploy and kPrepare: the revision to send.
  uint32_t revision = 0;
  // For kCancel: the deploy in flight to cancel.
  uint64_t deploy_id = 0;

  friend bool operator==(const ReconcileAction&, const ReconcileAction&) = default;
};

// Whether `app`'s targets select a host with `labels`.
bool Targets(const v1::AppSpec& app, const Labels& labels);

// What to send `host` now, by app name (deploys and removals interleaved in
// app order). Empty for a disconnected host.
std::vector<ReconcileAction> PlanHost(const HostView& host, const DesiredSet& desired);

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_RECONCILER_H_
