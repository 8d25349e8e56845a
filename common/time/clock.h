// The clock behind an interface so anything that stamps or waits can be tested
// with a FakeClock (tests/testing/fake_clock.h).
#ifndef PYSERVICE_COMMON_TIME_CLOCK_H_
#define PYSERVICE_COMMON_TIME_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace pyservice {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The wall clock.
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace pyservice

#endif  // PYSERVICE_COMMON_TIME_CLOCK_H_
