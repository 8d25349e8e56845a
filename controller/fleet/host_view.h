// The data the fleet's decisions are made from: what one host reports and
// what the controller has asked of it (HostView), and what every app should
// run (DesiredApp). Plain values, so the decision functions over them
// (reconciler.h, deploy_status.h) are pure and tested without gRPC.
#ifndef PYSERVICE_CONTROLLER_FLEET_HOST_VIEW_H_
#define PYSERVICE_CONTROLLER_FLEET_HOST_VIEW_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "controller/rollout/placement.h"
#include "pyservice/v1/agent.pb.h"
#include "pyservice/v1/spec.pb.h"

namespace pyservice::controller::fleet {

using Labels = std::map<std::string, std::string>;

// A DeployRequest or RemoveRequest sent to a host and not answered yet (no
// DeployResult with its deploy_id).
struct InFlightDeploy {
  uint64_t deploy_id = 0;
  // What was sent: the revision and its spec digest; 0 and "" for a removal.
  uint32_t revision = 0;
  std::string digest;
  bool remove = false;
  // A DeployRequest with prepare_only: fetch and build, no switch.
  bool prepare = false;
  // A CancelRequest for it went out: the controller wants the app at
  // another revision (or gone) and waits for the canceled deploy's result.
  bool cancel_sent = false;
  // The latest StepProgress of this deploy, if any.
  std::string step;
  v1::StepState step_state = v1::STEP_STATE_UNSPECIFIED;
  uint32_t step_elapsed_ms = 0;
  std::string step_message;
};

// The last failed deploy (or removal) of an app on a host. The reconciler
// does not send the same revision there again (no deploy loops); a newer
// revision clears the way.
struct DeployFailure {
  // The revision that failed; 0 for a failed removal.
  uint32_t revision = 0;
  bool remove = false;
  std::string step;
  std::string error;
};

// The last preparation of an app's next revision on a host (prepare_only):
// a later wave then only switches. Not retried when it failed; the deploy
// of the host's wave does the whole work then.
struct Preparation {
  std::string digest;
  bool ok = false;
  std::string error;
};

// One host as the decisions see it.
struct HostView {
  std::string name;
  // Its stream is up and it has not gone silent (not lost). Only connected
  // hosts are sent work.
  bool connected = false;
  Labels labels;
  // Every app the host reports (Hello, DeployResult.live, AppHealth), by app.
  std::map<std::string, v1::AppHealth> apps;
  // At most one deploy or removal in flight per app.
  std::map<std::string, InFlightDeploy> in_flight;
  // The last failure per app, kept until an app's deploy succeeds.
  std::map<std::string, DeployFailure> failures;
  // The last preparation per app (kept until the controller restarts).
  std::map<std::string, Preparation> preparations;
};

// One revision of an app, as hosts are sent it.
struct DesiredRevision {
  uint32_t revision = 0;
  std::string tag;
  // The revision's keyed digest (spec::SpecDigest, as stored), sent in
  // DeployRequest.spec_digest: the digest agents then report as
  // AppHealth.spec_digest.
  std::string digest;
  // The full spec, secrets included: what DeployRequest carries. Shared,
  // since every host's request carries the same one.
  std::shared_ptr<const v1::AppSpec> spec;
};

// An app that should run: its current revision, and while a rollout of it
// has not reached every host, which hosts still run the previous one.
struct DesiredApp : DesiredRevision {
  std::string name;
  // Set when the current revision came with a rollout that leaves some
  // hosts on `from` (running, failed, rolled back or aborted); null: every
  // targeted host runs the current revision.
  std::shared_ptr<const rollout::Placement> placement;
  // The revision hosts off the rollout's path run (set with `placement`).
  DesiredRevision from;

  // The revision `host` should run now.
  const DesiredRevision& For(const std::string& host) const {
    if (placement == nullptr || from.spec == nullptr || placement->OnTo(host)) return *this;
    return from;
  }
  // Whether `host` should prepare the current revision ahead of its wave.
  bool PreparesOn(const std::string& host) const {
    return placement != nullptr && placement->Prepares(host);
  }
};

// Every present app, by name.
using DesiredSet = std::map<std::string, DesiredApp>;

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_HOST_VIEW_H_
