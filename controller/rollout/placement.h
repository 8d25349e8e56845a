// Where a rollout puts each host: on the new revision ("to") or still on
// the previous one ("from"), and which hosts prepare the new one ahead of
// their wave. Derived from the persisted record alone, so a restarted
// controller places every host exactly as before the restart.
//
//   PENDING                          every host on from
//   RUNNING, AWAITING, PAUSED        hosts of started waves on to; hosts of
//                                    later waves on from, those of the next
//                                    kPrepareAheadWaves waves preparing to
//   SUCCEEDED                        every host on to (late joiners too)
//   FAILED                           hosts of started waves on to, others from
//   ROLLED_BACK, ABORTED             every host on from
#ifndef PYSERVICE_CONTROLLER_ROLLOUT_PLACEMENT_H_
#define PYSERVICE_CONTROLLER_ROLLOUT_PLACEMENT_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "pyservice/v1/rollout_record.pb.h"

namespace pyservice::controller::rollout {

// How many waves ahead of the running one prepare the new revision. Enough
// that the next wave finds its release built; not the whole fleet at once,
// which would have every host of a 10,000-host rollout hit the git server
// and build in the first minute (and slow the canary's own hosts).
inline constexpr int kPrepareAheadWaves = 2;

struct Placement {
  uint32_t rollout_id = 0;
  // Hosts not in `on_to` run `to` (true) or `from` (false).
  bool others_on_to = false;
  absl::flat_hash_set<std::string> on_to;
  absl::flat_hash_set<std::string> prepare;

  bool OnTo(const std::string& host) const { return others_on_to || on_to.contains(host); }
  bool Prepares(const std::string& host) const { return prepare.contains(host); }
};

Placement PlaceHosts(uint32_t rollout_id, const v1::RolloutRecord& record);

}  // namespace pyservice::controller::rollout

#endif  // PYSERVICE_CONTROLLER_ROLLOUT_PLACEMENT_H_
