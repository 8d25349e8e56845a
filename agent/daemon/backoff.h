// How long the agent waits before dialing the controller again: exponential
// backoff with full jitter (AWS architecture blog, "Exponential Backoff And
// Jitter"): attempt n waits a uniformly random time in [0, min(max,
// initial * multiplier^n)). Full jitter spreads a fleet that lost its
// controller at the same moment, so its return is not met by every agent
// at once.
//
// The attempt count starts over once a stream has lived `reset_after`: a
// controller that accepts and drops every stream at once (a bad
// certificate, an overloaded server) still sees the agent back off.
#ifndef PYSERVICE_AGENT_DAEMON_BACKOFF_H_
#define PYSERVICE_AGENT_DAEMON_BACKOFF_H_

#include <functional>
#include <optional>

#include "absl/time/time.h"
#include "common/time/clock.h"

namespace pyservice::agent {

struct BackoffPolicy {
  absl::Duration initial = absl::Milliseconds(500);
  double multiplier = 2.0;
  absl::Duration max = absl::Seconds(30);
  // A stream that stayed up this long resets the attempts.
  absl::Duration reset_after = absl::Seconds(30);
};

class Backoff {
 public:
  // `uniform` returns a random number in [0, 1); `clock` times streams.
  Backoff(BackoffPolicy policy, std::function<double()> uniform, const Clock& clock);

  // Records that a stream is up (the controller's Welcome arrived).
  void Connected();
  // The wait before the next attempt, after an attempt failed or a stream
  // ended. Starts over first if the last stream lived `reset_after`.
  absl::Duration Next();
  // Failed attempts since the last reset.
  int attempts() const { return attempts_; }
  // The upper bound of the wait `Next()` would return now.
  absl::Duration Ceiling() const;

 private:
  BackoffPolicy policy_;
  std::function<double()> uniform_;
  const Clock& clock_;
  int attempts_ = 0;
  std::optional<absl::Time> connected_at_;
};

// A uniform [0, 1) source seeded from the system's entropy, for production.
std::function<double()> SystemRandom();

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_DAEMON_BACKOFF_H_
