// The operator's picture of a rollout (pyctl rollout status): its stored
// record with every host's live state from the fleet.
#ifndef PYSERVICE_CONTROLLER_ROLLOUT_ROLLOUT_VIEW_H_
#define PYSERVICE_CONTROLLER_ROLLOUT_ROLLOUT_VIEW_H_

#include "absl/status/statusor.h"
#include "controller/fleet/fleet_registry.h"
#include "controller/rollout/host_observation.h"
#include "controller/store/store.h"
#include "pyservice/v1/controller.pb.h"
#include "pyservice/v1/rollout_record.pb.h"

namespace pyservice::controller::rollout {

// The stored record, decoded. DATA_LOSS when it does not decode.
absl::StatusOr<v1::RolloutRecord> DecodeRecord(const StoredRollout& stored);

// The rollout's revisions and their digests, read from the store.
absl::StatusOr<RolloutRevisions> ReadRevisions(Store& store, const StoredRollout& stored);

// The rollout as listings show it: everything but its waves and hosts
// (settled means finished, without looking at the hosts).
v1::Rollout SummarizeRollout(const StoredRollout& stored, const v1::RolloutRecord& record);

// The rollout as the API shows it: the summary, then every wave with every
// host's live state from `registry`, the counts, and whether it settled.
v1::Rollout DescribeRollout(const StoredRollout& stored, const v1::RolloutRecord& record,
                            const RolloutRevisions& revisions,
                            const fleet::FleetRegistry& registry);

}  // namespace pyservice::controller::rollout

#endif  // PYSERVICE_CONTROLLER_ROLLOUT_ROLLOUT_VIEW_H_
