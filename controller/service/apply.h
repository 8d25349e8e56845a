// Apply semantics, apart from gRPC: an app.yaml becomes the app's next
// revision unless it equals the current one.
#ifndef PYSERVICE_CONTROLLER_SERVICE_APPLY_H_
#define PYSERVICE_CONTROLLER_SERVICE_APPLY_H_

#include "absl/status/statusor.h"
#include "common/spec/fingerprint.h"
#include "common/spec/spec_policy.h"
#include "common/time/clock.h"
#include "controller/store/store.h"
#include "pyservice/v1/controller.pb.h"

namespace pyservice::controller {

// Parses and validates `request.yaml`, checks it against the spec policy
// with the admin's exceptions `policy` (nothing is stored for a refused
// spec, dry run or not), then stores it as the next revision
// (or, for a dry run, only computes what would change). A change to a
// present app is stored with a rollout to it (response.rollout), using the
// strategy of the applied spec's `rollout:`; a new app has none (every
// targeted host deploys it at once). Concurrent applies of
// one app are serialized by the store's compare-and-append: a loser re-reads
// the new current revision and diffs against it, so every stored diff and
// number is exact.
// Digests are keyed and diffs show secrets as fingerprints, both with
// `fingerprints`.
absl::StatusOr<v1::ApplyAppResponse> ApplyApp(Store& store, const Clock& clock,
                                              const spec::SecretFingerprinter& fingerprints,
                                              const spec::SpecPolicy& policy,
                                              const v1::ApplyAppRequest& request);

// The stored revision as the API shows it, without its spec: RFC 3339 time.
v1::Revision ToApiRevision(const StoredRevision& stored);

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_SERVICE_APPLY_H_
