#include "agent/daemon/backoff.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

namespace pyservice::agent {

Backoff::Backoff(BackoffPolicy policy, std::function<double()> uniform, const Clock& clock)
    : policy_(policy), uniform_(std::move(uniform)), clock_(clock) {}

void Backoff::Connected() { connected_at_ = clock_.Now(); }

absl::Duration Backoff::Ceiling() const {
  // Computed in floating point and capped before converting back, so many
  // attempts cannot overflow.
  const double ceiling_s = absl::ToDoubleSeconds(policy_.initial) *
                           std::pow(policy_.multiplier, std::min(attempts_, 64));
  return std::min(policy_.max, absl::Seconds(std::min(ceiling_s, 1e9)));
}

absl::Duration Backoff::Next() {
  if (connected_at_ && clock_.Now() - *connected_at_ >= policy_.reset_after) attempts_ = 0;
  connected_at_.reset();
  const absl::Duration ceiling = Ceiling();
  ++attempts_;
  const double fraction = std::clamp(uniform_(), 0.0, 1.0);
  return absl::Trunc(ceiling * fraction, absl::Milliseconds(1));
}

std::function<double()> SystemRandom() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine]() { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

}  // namespace pyservice::agent
