// A fleet observer for readers that poll: it only remembers that something
// changed, so a reader that re-reads whole views (WatchRollout, the web
// dashboard's event stream) wakes on a change and coalesces a burst of them
// into one read.
#ifndef PYSERVICE_CONTROLLER_FLEET_WAKE_ON_CHANGE_H_
#define PYSERVICE_CONTROLLER_FLEET_WAKE_ON_CHANGE_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/fleet/fleet_events.h"

namespace pyservice::controller::fleet {

class WakeOnChange final : public FleetObserver {
 public:
  void OnHostChanged(const std::string&) override { Wake(); }
  void OnAppChanged() override { Wake(); }
  void OnShutdown() override {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    changed_ = true;
  }
  // Waits for a change (or `timeout`); false once the controller stops.
  bool Wait(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&changed_), timeout);
    changed_ = false;
    return !shutdown_;
  }

 private:
  void Wake() {
    absl::MutexLock lock(&mu_);
    changed_ = true;
  }
  absl::Mutex mu_;
  bool changed_ ABSL_GUARDED_BY(mu_) = false;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_WAKE_ON_CHANGE_H_
