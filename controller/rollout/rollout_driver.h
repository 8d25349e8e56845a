// Drives every active rollout: feeds the rollout engine what the fleet sees,
// persists each transition, and only then tells the fleet, whose desired
// state (placement.h) re-reads it and whose reconciler sends the deploys.
// Persist-then-act is what makes a controller killed at any point resume
// exactly where it was: on restart the placement is rebuilt from the store,
// hosts that already run the new revision are not deployed again (the
// reconciler skips a digest a host runs) and a gate that has not passed in
// the store has not passed.
//
// One thread runs the passes: after fleet events for an app with an active
// rollout (coalesced, at most one pass per min_pass_interval), after
// operator commands, and every `tick` (timeouts, hosts going quiet). Operator commands run on the caller's thread under the
// same lock.
//
// Lock order: mu_ → the fleet's locks (DesiredState, FleetRegistry, ...);
// dirty_mu_ is a leaf.
#ifndef PYSERVICE_CONTROLLER_ROLLOUT_ROLLOUT_DRIVER_H_
#define PYSERVICE_CONTROLLER_ROLLOUT_ROLLOUT_DRIVER_H_

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "controller/fleet/event_log.h"
#include "controller/fleet/fleet_events.h"
#include "controller/fleet/fleet_metrics.h"
#include "controller/fleet/fleet_registry.h"
#include "controller/rollout/host_observation.h"
#include "controller/rollout/rollout_engine.h"
#include "controller/store/store.h"
#include "pyservice/v1/rollout_record.pb.h"

namespace pyservice::controller::rollout {

struct RolloutOptions {
  EngineOptions engine;
  // How often every active rollout is checked without any event (real time).
  absl::Duration tick = absl::Seconds(1);
  // Passes after events are at least this far apart (real time): a wave of
  // 1,000 hosts sends thousands of step reports, and a pass reads the whole
  // wave, so passes per event would cost the square of the wave size.
  absl::Duration min_pass_interval = absl::Milliseconds(50);
  // A host whose stream ended fails its wave when it has not reconnected
  // this long after it was last heard from (GoneRule); a rollout is planned
  // only once known hosts had this long to reconnect after a controller
  // start. Longer than the agents' longest reconnect backoff (30 s).
  absl::Duration reconnect_grace = absl::Seconds(45);
  // Counts gates that failed; null counts nothing.
  fleet::FleetMetrics* metrics = nullptr;
};

class RolloutDriver {
 public:
  // `app_changed` re-reads an app's desired state and reconciles its hosts
  // (Fleet::AppChanged). Every argument must outlive the driver.
  RolloutDriver(Store& store, const Clock& clock, const fleet::FleetRegistry& registry,
                fleet::FleetEvents& events, fleet::EventLog& history,
                std::function<absl::Status(const std::string& app)> app_changed,
                const RolloutOptions& options);
  RolloutDriver(const RolloutDriver&) = delete;
  RolloutDriver& operator=(const RolloutDriver&) = delete;
  ~RolloutDriver();

  // Loads the active rollouts from the store and starts the thread.
  absl::Status Start();
  // Stops the thread. Idempotent.
  void Stop();

  // Drives a rollout CreateRollout just stored.
  absl::Status Adopt(const StoredRollout& stored);

  // Pause, resume, promote or abort the app's active rollout; returns it as
  // persisted after the change. FAILED_PRECONDITION when there is none or
  // the action does not apply to its state.
  absl::StatusOr<StoredRollout> Control(const std::string& app,
                                        v1::ControlRolloutRequest::Action action);

  // Runs a pass over every active rollout now, on the calling thread
  // (tests; the thread does the same).
  void RunPass();

 private:
  struct Active {
    StoredRollout stored;
    v1::RolloutRecord record;
    RolloutRevisions revisions;
    // The new revision's spec: its targets decide the hosts to plan.
    std::shared_ptr<const v1::AppSpec> to_spec;
    uint64_t subscription = 0;
  };
  class Observer;

  absl::StatusOr<Active> Load(const StoredRollout& stored);
  // Advances one rollout; persists and publishes a change.
  void Pass(const std::string& app) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Persists `record` as the rollout's new state, then tells the fleet.
  // On a store error nothing changes (the next pass tries again).
  absl::Status Commit(Active& active, const v1::RolloutRecord& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MarkDirty(const std::string& app);
  void Loop();

  Store& store_;
  const Clock& clock_;
  const fleet::FleetRegistry& registry_;
  fleet::FleetEvents& events_;
  // Where transitions are recorded for `pyctl events`.
  fleet::EventLog& history_;
  const std::function<absl::Status(const std::string&)> app_changed_;
  const RolloutOptions options_;
  const RolloutEngine engine_;
  GoneRule gone_;

  absl::Mutex mu_;
  std::map<std::string, Active> active_ ABSL_GUARDED_BY(mu_);

  absl::Mutex dirty_mu_;
  std::set<std::string> dirty_ ABSL_GUARDED_BY(dirty_mu_);
  bool stopping_ ABSL_GUARDED_BY(dirty_mu_) = false;
  std::thread thread_;
};

}  // namespace pyservice::controller::rollout

#endif  // PYSERVICE_CONTROLLER_ROLLOUT_ROLLOUT_DRIVER_H_
