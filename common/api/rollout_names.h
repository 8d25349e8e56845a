// The names of rollout states as operators and scripts see them (pyctl's
// JSON and tables, the controller's log): "awaiting_promotion", "rolled_back",
// ... as INTERFACES.md lists them. One definition for every program.
#ifndef PYSERVICE_COMMON_API_ROLLOUT_NAMES_H_
#define PYSERVICE_COMMON_API_ROLLOUT_NAMES_H_

#include <string>

#include "pyservice/v1/controller.pb.h"

namespace pyservice {

// pending|running|awaiting_promotion|paused|succeeded|failed|aborted|
// rolled_back; "unknown" when unspecified.
std::string RolloutStateName(v1::RolloutState state);
// pending|deploying|verifying|healthy|failed|rolled_back; "unknown".
std::string RolloutHostStateName(v1::RolloutHostState state);
// none|preparing|prepared|failed.
std::string PrepareStateName(v1::PrepareState state);

}  // namespace pyservice

#endif  // PYSERVICE_COMMON_API_ROLLOUT_NAMES_H_
