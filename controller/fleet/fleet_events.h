// Change notifications for watchers of an app's deploy (WatchApp streams):
// the fleet publishes "host H changed" and "app A changed" after updating
// its state, and each subscribed observer re-reads what it needs.
// Notifications carry no state, so a slow watcher can coalesce them.
#ifndef PYSERVICE_CONTROLLER_FLEET_FLEET_EVENTS_H_
#define PYSERVICE_CONTROLLER_FLEET_FLEET_EVENTS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace pyservice::controller::fleet {

// Called from the thread that changed the state (often a gRPC reaction),
// with no fleet lock held: must not block, may read the fleet.
class FleetObserver {
 public:
  virtual ~FleetObserver() = default;
  // Something about `host` changed that may matter for the app: a report,
  // progress, result, (dis)connection or label change.
  virtual void OnHostChanged(const std::string& host) = 0;
  // The app was applied or deleted.
  virtual void OnAppChanged() = 0;
  // The controller is stopping.
  virtual void OnShutdown() = 0;
};

class FleetEvents {
 public:
  // Subscribes `observer` to `app`, or to every app when `app` is empty
  // (the web dashboard); nullopt once Shutdown() ran.
  std::optional<uint64_t> Subscribe(const std::string& app,
                                    std::shared_ptr<FleetObserver> observer);
  void Unsubscribe(uint64_t id);

  // `host` changed, for watchers of `app`, or of every app when `app` is
  // empty.
  void HostChanged(const std::string& app, const std::string& host);
  void AppChanged(const std::string& app);
  // Tells every observer, and refuses later subscriptions.
  void Shutdown();

 private:
  struct Subscription {
    std::string app;
    std::shared_ptr<FleetObserver> observer;
  };

  // Matching observers, copied under mu_ so they are called without it.
  std::vector<std::shared_ptr<FleetObserver>> Matching(const std::string& app);

  // A leaf lock: observers are called after releasing it.
  absl::Mutex mu_;
  std::map<uint64_t, Subscription> subscriptions_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_FLEET_EVENTS_H_
