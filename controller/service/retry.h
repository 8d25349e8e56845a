// Changes of one app are compare-and-append transactions (Store: ABORTED
// when another change committed first); the loser re-reads and tries again.
#ifndef PYSERVICE_CONTROLLER_SERVICE_RETRY_H_
#define PYSERVICE_CONTROLLER_SERVICE_RETRY_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pyservice::controller {

// Each retry means another change of the same app committed in between; a
// handful of rounds is plenty unless something is badly wrong.
inline constexpr int kMaxChangeAttempts = 8;

// Runs `attempt` until it returns anything but ABORTED, at most
// kMaxChangeAttempts times; then ABORTED with `gave_up`.
template <typename T>
absl::StatusOr<T> RetryWhileAborted(const std::function<absl::StatusOr<T>()>& attempt,
                                    const std::string& gave_up) {
  for (int i = 0; i < kMaxChangeAttempts; ++i) {
    absl::StatusOr<T> result = attempt();
    if (!absl::IsAborted(result.status())) return result;
  }
  return absl::AbortedError(gave_up);
}

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_SERVICE_RETRY_H_
