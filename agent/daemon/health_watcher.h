// Keeps every app's health current from systemd's signals and pushes
// changes to the controller (AppHealth messages).
//
// What it knows per app: the state record (the live release, the last
// result), the live units' states, and whether a job runs. Unit states
// change only by signals (SystemdManager::WatchUnits: PropertiesChanged,
// not polling) and by explicit re-reads after a job and for each Hello.
//
// Pushing: a unit callback only records the new state and marks the app;
// a pusher thread sends the marked apps' health when it differs from what
// the controller last got, and then waits `min_push_interval`, so a
// crash-looping unit costs one message a second, not one per restart.
// While a job runs for an app nothing is pushed for it but PROGRESSING at
// the start: the job's DeployResult carries the health at its end.
//
// Threads: the unit callbacks (D-Bus event loop), the workers (BeginJob,
// Refresh), the connection (Snapshot) and the pusher. mu_ is never held
// while calling the SystemdManager: its callbacks take mu_, and removing a
// watch waits for a running callback.
#ifndef PYSERVICE_AGENT_DAEMON_HEALTH_WATCHER_H_
#define PYSERVICE_AGENT_DAEMON_HEALTH_WATCHER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/daemon/message_sink.h"
#include "agent/drift/drift_check.h"
#include "agent/health/app_health.h"
#include "agent/state/state_store.h"
#include "agent/systemd/systemd_manager.h"
#include "pyservice/v1/agent.pb.h"

namespace pyservice::agent {

class HealthWatcher {
 public:
  // Receives the health of a finished job's app, under the watcher's lock
  // (so no later push can overtake it): it must only queue.
  using Report = std::function<void(const v1::AppHealth& live)>;

  HealthWatcher(SystemdManager& systemd, StateStore& store, MessageSink& sink,
                absl::Duration min_push_interval = absl::Seconds(1));
  HealthWatcher(const HealthWatcher&) = delete;
  HealthWatcher& operator=(const HealthWatcher&) = delete;
  // Stop().
  ~HealthWatcher();

  // Loads every app in the state dir, watches its live units and starts
  // the pusher. Nothing is pushed for what it finds (a Hello will say it).
  void Start() ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the pusher and every watch. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // A job for `app` starts: its health is PROGRESSING, pushed now, until
  // the Refresh after the job.
  void BeginJob(const std::string& app) ABSL_LOCKS_EXCLUDED(mu_);
  // Re-reads `app`'s state record and its live units (watching the new
  // ones), and ends a BeginJob. With `report`, calls it with the app's
  // health, which then counts as pushed; without, pushes it if it changed.
  // Blocking (state file, D-Bus): call from workers.
  void Refresh(const std::string& app, const Report& report = nullptr) ABSL_LOCKS_EXCLUDED(mu_);

  // The last drift check of `app` found `findings` (empty: nothing), at
  // `now`, and `repaired` says whether they were put back. Reported in its
  // AppHealth.drift: a finding still there keeps the time it was first
  // seen; repaired ones stay listed until ClearDrift; unrepaired ones not
  // found again go. Pushed if that changes what the controller has.
  void SetDrift(const std::string& app, const std::vector<DriftFinding>& findings, bool repaired,
                absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);
  // A deploy or removal of `app` ran: what the checks found is its past.
  // Not pushed (the Refresh that follows reports).
  void ClearDrift(const std::string& app) ABSL_LOCKS_EXCLUDED(mu_);

  // The app's health now; for an app with no state here, just its name
  // (UNKNOWN).
  v1::AppHealth Current(const std::string& app) const ABSL_LOCKS_EXCLUDED(mu_);
  // The state record as last read (empty for an app not here).
  v1::AppState State(const std::string& app) const ABSL_LOCKS_EXCLUDED(mu_);

  // For a Hello: every app with a live release or a job running, its unit
  // states re-read first. What it returns counts as pushed.
  std::vector<v1::AppHealth> Snapshot() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct TrackedApp {
    v1::AppState state;
    std::vector<WatchedUnit> units;
    // Per unit: bumped by every signal, so a re-read started before a
    // signal never overwrites what the signal said.
    std::vector<uint64_t> versions;
    bool job_running = false;
    // What the controller last got (pushed, reported or in a Hello).
    std::string last_sent;
    std::unique_ptr<UnitWatch> watch;
    // AppHealth.drift, from the drift checks (SetDrift).
    std::vector<v1::Drift> drift;
  };

  // Reads the states of `app`'s units and stores those no signal changed
  // meanwhile. Does not hold mu_ while reading.
  void ReadUnitStates(const std::string& app) ABSL_LOCKS_EXCLUDED(mu_);
  void OnUnitChange(const std::string& app, const UnitState& state) ABSL_LOCKS_EXCLUDED(mu_);
  void PushLoop() ABSL_LOCKS_EXCLUDED(mu_);
  v1::AppHealth Build(const TrackedApp& app) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  v1::AppHealth BuildHealthWithoutDrift(const TrackedApp& app) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends `app`'s health if the controller has not got it yet.
  void PushIfChanged(TrackedApp& app) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  SystemdManager& systemd_;
  StateStore& store_;
  MessageSink& sink_;
  const absl::Duration min_push_interval_;

  mutable absl::Mutex mu_;
  std::map<std::string, TrackedApp> apps_ ABSL_GUARDED_BY(mu_);
  // Apps whose units changed since the last push round.
  std::set<std::string> dirty_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread pusher_;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_DAEMON_HEALTH_WATCHER_H_
