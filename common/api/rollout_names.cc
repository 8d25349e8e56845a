#include "common/api/rollout_names.h"

namespace pyservice {

std::string RolloutStateName(v1::RolloutState state) {
  switch (state) {
    case v1::ROLLOUT_STATE_PENDING:
      return "pending";
    case v1::ROLLOUT_STATE_RUNNING:
      return "running";
    case v1::ROLLOUT_STATE_AWAITING_PROMOTION:
      return "awaiting_promotion";
    case v1::ROLLOUT_STATE_PAUSED:
      return "paused";
    case v1::ROLLOUT_STATE_SUCCEEDED:
      return "succeeded";
    case v1::ROLLOUT_STATE_FAILED:
      return "failed";
    case v1::ROLLOUT_STATE_ABORTED:
      return "aborted";
    case v1::ROLLOUT_STATE_ROLLED_BACK:
      return "rolled_back";
    default:
      return "unknown";
  }
}

std::string RolloutHostStateName(v1::RolloutHostState state) {
  switch (state) {
    case v1::ROLLOUT_HOST_STATE_PENDING:
      return "pending";
    case v1::ROLLOUT_HOST_STATE_DEPLOYING:
      return "deploying";
    case v1::ROLLOUT_HOST_STATE_VERIFYING:
      return "verifying";
    case v1::ROLLOUT_HOST_STATE_HEALTHY:
      return "healthy";
    case v1::ROLLOUT_HOST_STATE_FAILED:
      return "failed";
    case v1::ROLLOUT_HOST_STATE_ROLLED_BACK:
      return "rolled_back";
    default:
      return "unknown";
  }
}

std::string PrepareStateName(v1::PrepareState state) {
  switch (state) {
    case v1::PREPARE_STATE_PREPARING:
      return "preparing";
    case v1::PREPARE_STATE_PREPARED:
      return "prepared";
    case v1::PREPARE_STATE_FAILED:
      return "failed";
    default:
      return "none";
  }
}

}  // namespace pyservice
