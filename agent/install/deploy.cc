#include "agent/install/deploy.h"

namespace pyservice::agent {

absl::string_view StepStateName(StepState state) {
  switch (state) {
    case StepState::kRunning:
      return "running";
    case StepState::kDone:
      return "done";
    case StepState::kUnchanged:
      return "unchanged";
    case StepState::kFailed:
      return "failed";
  }
  return "unknown";
}

}  // namespace pyservice::agent
