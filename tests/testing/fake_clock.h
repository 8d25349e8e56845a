// A Clock whose time moves only when a test moves it, so timestamps and
// deadlines in tests are exact and nothing sleeps.
#ifndef PYSERVICE_TESTS_TESTING_FAKE_CLOCK_H_
#define PYSERVICE_TESTS_TESTING_FAKE_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time/clock.h"

namespace pyservice::testing {

class FakeClock final : public Clock {
 public:
  // Starts at a fixed, whole-second time (2023-11-14 22:13:20 UTC) rather
  // than the epoch, so an unset timestamp (absl::UnixEpoch()) stands out.
  FakeClock() : now_(absl::FromUnixSeconds(1700000000)) {}
  explicit FakeClock(absl::Time now) : now_(now) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }

  void SetTime(absl::Time now) {
    absl::MutexLock lock(&mu_);
    now_ = now;
  }

  void Advance(absl::Duration duration) {
    absl::MutexLock lock(&mu_);
    now_ += duration;
  }

 private:
  // Code under test may read the clock from its own threads.
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_FAKE_CLOCK_H_
