// What the controller's and the agent's step duration histograms share, so
// the two can be compared bucket for bucket.
#ifndef PYSERVICE_COMMON_METRICS_STEP_METRICS_H_
#define PYSERVICE_COMMON_METRICS_STEP_METRICS_H_

#include <string>
#include <vector>

#include "common/api/step_state_name.h"
#include "pyservice/v1/agent.pb.h"

namespace pyservice::metrics {

// Seconds: steps take from milliseconds (unchanged files) to many minutes (a
// cold dependency install).
inline std::vector<double> StepDurationBuckets() {
  return {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
}

// The `result` label of a finished step: done|unchanged|failed; "" while it
// runs (not a finished step).
inline std::string StepResultLabel(v1::StepState state) {
  return state == v1::STEP_STATE_RUNNING ? "" : StepStateName(state);
}

}  // namespace pyservice::metrics

#endif  // PYSERVICE_COMMON_METRICS_STEP_METRICS_H_
