// One worker thread per app: an app's jobs (deploy, prepare, remove) run one
// at a time, in order; different apps' jobs run in parallel.
//
// Queueing: at most one job waits behind the running one of an app. A newer
// request replaces a waiting one — the controller only ever wants the app
// at its latest request — and the replaced job is handed back, never
// started, so the caller can answer for it. A running job is never
// interrupted by a newer one: it stops early only when canceled, at its
// next step boundary, so the app is never left between steps.
#ifndef PYSERVICE_AGENT_DAEMON_APP_WORKERS_H_
#define PYSERVICE_AGENT_DAEMON_APP_WORKERS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "pyservice/v1/spec.pb.h"

namespace pyservice::agent {

// One request of the controller for one app, or the agent's own drift
// check (agent/drift/), which runs on the app's worker so it never meets a
// deploy halfway.
struct Job {
  enum class Kind { kDeploy, kPrepare, kRemove, kCheckDrift };
  Kind kind = Kind::kDeploy;
  // The controller's id of the request, echoed in progress and result.
  uint64_t deploy_id = 0;
  std::string app;
  // kDeploy, kPrepare: the revision, its spec and the controller's digest
  // of it (DeployRequest.spec_digest; empty from an older controller).
  uint32_t revision = 0;
  v1::AppSpec spec;
  std::string spec_digest;
};

// Runs one job to its end, reporting as it goes (job_runner.h).
class JobExecutor {
 public:
  virtual ~JobExecutor() = default;
  // `canceled` turns true when the job is canceled or the agent stops; the
  // executor then stops at its next step boundary.
  virtual void Execute(const Job& job, const std::atomic<bool>& canceled) = 0;
};

class AppWorkers {
 public:
  explicit AppWorkers(JobExecutor& executor) : executor_(executor) {}
  AppWorkers(const AppWorkers&) = delete;
  AppWorkers& operator=(const AppWorkers&) = delete;
  // Stop().
  ~AppWorkers();

  // Queues `job` behind its app's running job (or starts it at once).
  // Returns the job it replaced, which never started; after Stop, `job`
  // itself (refused).
  std::optional<Job> Submit(Job job) ABSL_LOCKS_EXCLUDED(mu_);
  // Queues `job` only when its app's worker has nothing running or
  // waiting (a drift check: the job there repairs what it touches anyway).
  // Returns whether it was queued. A later Submit replaces it like any
  // waiting job.
  bool SubmitIfIdle(Job job) ABSL_LOCKS_EXCLUDED(mu_);

  struct Cancellation {
    enum class Where { kNotFound, kQueued, kRunning };
    Where where = Where::kNotFound;
    // kQueued: the job, taken out of the queue without starting.
    std::optional<Job> job;
  };
  // Cancels the job with `deploy_id`: a waiting one is dequeued and
  // returned; a running one is asked to stop at its next step boundary.
  Cancellation Cancel(uint64_t deploy_id) ABSL_LOCKS_EXCLUDED(mu_);

  // Asks running jobs to stop at their next step boundary, drops waiting
  // ones (returned), refuses new ones, and joins every worker. Idempotent.
  std::vector<Job> Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // Blocks until no job runs or waits. For tests.
  void WaitIdle() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Worker {
    std::optional<Job> running;
    std::optional<Job> queued;
    // The running job's flag; a fresh one per job.
    std::shared_ptr<std::atomic<bool>> canceled;
    std::thread thread;
  };

  // The app's worker, its thread started on first use.
  Worker& WorkerFor(const std::string& app) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Loop(Worker* worker) ABSL_LOCKS_EXCLUDED(mu_);
  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  JobExecutor& executor_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Worker>> workers_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_DAEMON_APP_WORKERS_H_
