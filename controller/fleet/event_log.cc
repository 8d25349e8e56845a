#include "controller/fleet/event_log.h"

#include <utility>

#include "common/time/rfc3339.h"

namespace pyservice::controller::fleet {

void EventLog::Record(v1::FleetEvent event) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  event.set_sequence(++last_sequence_);
  event.set_time(FormatRfc3339(now));
  events_.push_back(std::move(event));
  while (events_.size() > capacity_) events_.pop_front();
}

std::vector<v1::FleetEvent> EventLog::After(uint64_t after) {
  absl::MutexLock lock(&mu_);
  std::vector<v1::FleetEvent> events;
  for (const v1::FleetEvent& event : events_) {
    if (event.sequence() > after) events.push_back(event);
  }
  return events;
}

bool EventLog::Wait(uint64_t after, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return shut_down_ || last_sequence_ > after;
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  return !shut_down_;
}

void EventLog::Shutdown() {
  absl::MutexLock lock(&mu_);
  shut_down_ = true;
}

}  // namespace pyservice::controller::fleet
