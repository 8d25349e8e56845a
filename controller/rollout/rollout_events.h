// What one rollout transition means for `pyctl events`: started, a wave
// started, promoted, and how it ended.
#ifndef PYSERVICE_CONTROLLER_ROLLOUT_ROLLOUT_EVENTS_H_
#define PYSERVICE_CONTROLLER_ROLLOUT_ROLLOUT_EVENTS_H_

#include <vector>

#include "controller/store/store.h"
#include "pyservice/v1/controller.pb.h"
#include "pyservice/v1/rollout_record.pb.h"

namespace pyservice::controller::rollout {

// The events of `stored` going from `before` to `after`, in the order
// they happened (none when nothing an operator follows changed).
std::vector<v1::FleetEvent> RolloutEvents(const StoredRollout& stored,
                                          const v1::RolloutRecord& before,
                                          const v1::RolloutRecord& after);

}  // namespace pyservice::controller::rollout

#endif  // PYSERVICE_CONTROLLER_ROLLOUT_ROLLOUT_EVENTS_H_
