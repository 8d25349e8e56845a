#include "controller/fleet/fleet_events.h"

#include <utility>
#include <vector>

namespace pyservice::controller::fleet {

std::optional<uint64_t> FleetEvents::Subscribe(const std::string& app,
                                               std::shared_ptr<FleetObserver> observer) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return std::nullopt;
  const uint64_t id = next_id_++;
  subscriptions_[id] = {app, std::move(observer)};
  return id;
}

void FleetEvents::Unsubscribe(uint64_t id) {
  absl::MutexLock lock(&mu_);
  subscriptions_.erase(id);
}

std::vector<std::shared_ptr<FleetObserver>> FleetEvents::Matching(const std::string& app) {
  std::vector<std::shared_ptr<FleetObserver>> observers;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, subscription] : subscriptions_) {
    if (app.empty() || subscription.app.empty() || subscription.app == app) {
      observers.push_back(subscription.observer);
    }
  }
  return observers;
}

void FleetEvents::HostChanged(const std::string& app, const std::string& host) {
  for (const auto& observer : Matching(app)) observer->OnHostChanged(host);
}

void FleetEvents::AppChanged(const std::string& app) {
  for (const auto& observer : Matching(app)) observer->OnAppChanged();
}

void FleetEvents::Shutdown() {
  std::vector<std::shared_ptr<FleetObserver>> observers;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    for (auto& [id, subscription] : subscriptions_) observers.push_back(subscription.observer);
    subscriptions_.clear();
  }
  for (const auto& observer : observers) observer->OnShutdown();
}

}  // namespace pyservice::controller::fleet
