// The name of a step's state as operators and scripts see it (pyctl's JSON
// and tables, the metrics' `result` label). One definition for every program.
#ifndef PYSERVICE_COMMON_API_STEP_STATE_NAME_H_
#define PYSERVICE_COMMON_API_STEP_STATE_NAME_H_

#include <string>

#include "pyservice/v1/agent.pb.h"

namespace pyservice {

// running|done|unchanged|failed, "" when unspecified.
inline std::string StepStateName(v1::StepState state) {
  switch (state) {
    case v1::STEP_STATE_RUNNING:
      return "running";
    case v1::STEP_STATE_DONE:
      return "done";
    case v1::STEP_STATE_UNCHANGED:
      return "unchanged";
    case v1::STEP_STATE_FAILED:
      return "failed";
    default:
      return "";
  }
}

}  // namespace pyservice

#endif  // PYSERVICE_COMMON_API_STEP_STATE_NAME_H_
