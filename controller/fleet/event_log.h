// The fleet's recent history for `pyctl events`: hosts connecting and
// disconnecting, deploys starting and ending, rollouts moving, apps applied
// and deleted. A bounded ring in memory (the latest `capacity` events since
// the controller started): a record for operators, not an audit log; the
// store keeps the durable facts (revisions, rollouts, hosts).
//
// Unlike FleetEvents (fleet_events.h), which only says "something changed"
// to wake watchers, each event here is a fact with its details.
#ifndef PYSERVICE_CONTROLLER_FLEET_EVENT_LOG_H_
#define PYSERVICE_CONTROLLER_FLEET_EVENT_LOG_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "pyservice/v1/controller.pb.h"

namespace pyservice::controller::fleet {

class EventLog {
 public:
  // `clock` dates the events; it must outlive the log.
  explicit EventLog(const Clock& clock, size_t capacity = 1000)
      : clock_(clock), capacity_(capacity) {}

  // Adds `event` with the next sequence number and the time now. Never
  // blocks for long: safe from gRPC reactions.
  void Record(v1::FleetEvent event) ABSL_LOCKS_EXCLUDED(mu_);
  // The kept events with a sequence above `after`, oldest first.
  std::vector<v1::FleetEvent> After(uint64_t after) ABSL_LOCKS_EXCLUDED(mu_);
  // Waits until an event above `after` is kept, the log shuts down, or
  // `timeout` passes (real time). False once shut down.
  bool Wait(uint64_t after, absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const Clock& clock_;
  const size_t capacity_;
  absl::Mutex mu_;
  std::deque<v1::FleetEvent> events_ ABSL_GUARDED_BY(mu_);
  uint64_t last_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_EVENT_LOG_H_
