// Every `interval`, asks each app's worker for a drift check
// (Job::Kind::kCheckDrift; the check and its repair are the job runner's,
// agent/drift/ the detection). A check queues only behind nothing: an app
// whose worker is busy is deploying, and the deploy puts back what it
// touches anyway. Runs whether or not the controller is connected: the
// host keeps what was deployed either way.
//
// Why a timer and not systemd's signals: the agent's files are not only
// unit files (config.yaml, files: entries, the code symlink), and systemd
// signals a changed unit file only at the next daemon-reload. A check
// costs a few small reads and D-Bus calls per app, so a minute is cheap.
#ifndef PYSERVICE_AGENT_DAEMON_DRIFT_SCHEDULER_H_
#define PYSERVICE_AGENT_DAEMON_DRIFT_SCHEDULER_H_

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/daemon/app_workers.h"
#include "agent/state/state_store.h"

namespace pyservice::agent {

class DriftScheduler {
 public:
  // `interval` zero: Start does nothing (drift_check_interval: 0s).
  DriftScheduler(StateStore& store, AppWorkers& workers, absl::Duration interval)
      : store_(store), workers_(workers), interval_(interval) {}
  DriftScheduler(const DriftScheduler&) = delete;
  DriftScheduler& operator=(const DriftScheduler&) = delete;
  // Stop().
  ~DriftScheduler();

  // Starts the thread: a round every interval, the first one interval from
  // now (the agent's start has its Hello to report). Idempotent.
  void Start() ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the thread; queued checks are the workers' to drop. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // One round now: a check for each app of the state dir whose worker is
  // idle. Returns how many were queued.
  int CheckAll();

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);

  StateStore& store_;
  AppWorkers& workers_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_DAEMON_DRIFT_SCHEDULER_H_
