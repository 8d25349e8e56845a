// A token bucket: `rate` tokens a second, at most `burst` saved up, full at
// the start. Each agent stream has one for the messages it sends
// (AgentSession): bursts of a deploy's progress pass, a flood does not.
// Time comes from the injected Clock, so tests drive it exactly.
//
// Not thread-safe: an AgentSession touches it only from its read
// reactions, one at a time.
#ifndef PYSERVICE_CONTROLLER_FLEET_TOKEN_BUCKET_H_
#define PYSERVICE_CONTROLLER_FLEET_TOKEN_BUCKET_H_

#include "absl/time/time.h"
#include "common/time/clock.h"

namespace pyservice::controller::fleet {

struct RateLimit {
  double per_second = 50;
  double burst = 500;
};

class TokenBucket {
 public:
  // `clock` must outlive the bucket.
  TokenBucket(RateLimit limit, const Clock& clock)
      : limit_(limit), clock_(clock), tokens_(limit.burst), refilled_at_(clock.Now()) {}

  // Takes one token: false when there is none (the bucket is left empty).
  bool TryTake() {
    const absl::Time now = clock_.Now();
    if (now > refilled_at_) {
      tokens_ += absl::ToDoubleSeconds(now - refilled_at_) * limit_.per_second;
      if (tokens_ > limit_.burst) tokens_ = limit_.burst;
      refilled_at_ = now;
    }
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

  const RateLimit& limit() const { return limit_; }

 private:
  const RateLimit limit_;
  const Clock& clock_;
  double tokens_;
  absl::Time refilled_at_;
};

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_TOKEN_BUCKET_H_
