// Rollout semantics apart from gRPC: which revision an app's hosts run
// outside a rollout, and storing a new rollout (pyctl rollout, an apply that
// changes a deployed app, undo) together with its revision.
#ifndef PYSERVICE_CONTROLLER_SERVICE_ROLLOUTS_H_
#define PYSERVICE_CONTROLLER_SERVICE_ROLLOUTS_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/spec/fingerprint.h"
#include "common/time/clock.h"
#include "controller/fleet/fleet_registry.h"
#include "controller/rollout/wave_plan.h"
#include "controller/store/store.h"
#include "pyservice/v1/controller.pb.h"
#include "pyservice/v1/spec.pb.h"

namespace pyservice::controller {

// The revision an app's hosts run when no rollout is moving them: the
// current one, unless the rollout that brought it rolled back, was aborted
// or failed — then the one that rollout started from.
absl::StatusOr<StoredRevision> LiveRevision(Store& store, const StoredRevision& current);

// Stores `spec` as the app's next revision (after `current`) and a rollout
// of it from the live revision, in one transaction. ABORTED when another
// apply won the race (re-read and retry); FAILED_PRECONDITION naming the
// active rollout when there is one. The revision's digest is keyed with
// `fingerprints`.
absl::StatusOr<StoredRollout> StoreRollout(Store& store, const Clock& clock,
                                           const spec::SecretFingerprinter& fingerprints,
                                           const StoredRevision& current,
                                           const v1::AppSpec& spec,
                                           const v1::RolloutStrategy& strategy,
                                           const std::string& cause);

// `pyctl rollout NAME --tag TAG`: the app's current spec with another tag.
absl::StatusOr<StoredRollout> StartRollout(Store& store, const Clock& clock,
                                           const spec::SecretFingerprinter& fingerprints,
                                           const v1::StartRolloutRequest& request);

// `pyctl rollout undo NAME`: rolls out the revision the live one replaced
// (as a new revision with that spec), in batches of the app's batch size
// with no canary and no wait for promotion: undo is for getting back fast.
// `to_revision` (not 0): that stored revision's spec instead; NOT_FOUND when
// the app has no such revision, FAILED_PRECONDITION when the fleet runs its
// spec already.
absl::StatusOr<StoredRollout> UndoRollout(Store& store, const Clock& clock,
                                          const spec::SecretFingerprinter& fingerprints,
                                          const std::string& app, uint32_t to_revision = 0);

// The app's rollout `id`, or its latest for 0. NOT_FOUND when there is none;
// INVALID_ARGUMENT for a bad app name.
absl::StatusOr<StoredRollout> FindRollout(Store& store, const std::string& app, uint32_t id);

// The API's view of a stored rollout, with every host's live state.
absl::StatusOr<v1::Rollout> DescribeStoredRollout(Store& store,
                                                  const fleet::FleetRegistry& registry,
                                                  const StoredRollout& stored);

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_SERVICE_ROLLOUTS_H_
