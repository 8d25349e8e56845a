// Runs the controller's requests through the install pipeline
// (agent/install/pipeline.h, exactly what `pyservice-agent apply` runs) and
// reports on the stream: a StepProgress per step report (not for a
// prepare: those only go to the agent's metrics), a DeployResult at the end
// with what is live then.
//
//  * DeployRequest: Pipeline::Deploy with the request's revision and digest
//    — unless the state says that spec is live, nothing is unfinished, and
//    the health watcher sees every unit active: then the result is sent at
//    once and nothing runs (a reconnecting controller may ask for what
//    already runs). A new revision number or digest for the same spec is
//    recorded, and reported.
//  * DeployRequest with prepare_only: Pipeline::Prepare (user → environment).
//  * RemoveRequest: Pipeline::Remove.
//  * The agent's own drift check (DriftScheduler): FindDrift on the app's
//    state; what it finds goes into the app's health (AppHealth.drift) and
//    the log, by path, never by content. Under the app's `drift: repair`
//    (the default) Pipeline::Repair puts it back and restarts what that
//    affects; under `drift: report`, or when a unit is masked, it is only
//    reported. A deploy or removal clears the record.
// Cancellation is the pipeline's: at the next step boundary, ABORTED.
#ifndef PYSERVICE_AGENT_DAEMON_JOB_RUNNER_H_
#define PYSERVICE_AGENT_DAEMON_JOB_RUNNER_H_

#include <atomic>

#include "absl/strings/string_view.h"
#include "agent/daemon/agent_metrics.h"
#include "agent/daemon/app_workers.h"
#include "agent/daemon/health_watcher.h"
#include "agent/daemon/message_sink.h"
#include "agent/install/deploy.h"
#include "agent/state/state_store.h"
#include "pyservice/v1/agent.pb.h"

namespace pyservice::agent {

class JobRunner final : public JobExecutor {
 public:
  // `metrics` counts a prepare's steps, which are not sent; may be null.
  JobRunner(HostServices& host, const AgentSettings& settings, StateStore& store,
            HealthWatcher& health, MessageSink& sink, AgentMetrics* metrics)
      : host_(host),
        settings_(settings),
        store_(store),
        health_(health),
        sink_(sink),
        metrics_(metrics) {}

  void Execute(const Job& job, const std::atomic<bool>& canceled) override;

 private:
  // The fast path: true (and the result sent) when `job` asks for the
  // healthy live digest.
  bool AnswerIfAlreadyLive(const Job& job);
  // A kCheckDrift job: find, report, and repair per the app's policy.
  void CheckDrift(const Job& job);

  HostServices& host_;
  const AgentSettings& settings_;
  StateStore& store_;
  HealthWatcher& health_;
  MessageSink& sink_;
  AgentMetrics* const metrics_;
};

// The DeployResult for a job that never started (superseded by a newer
// request, or canceled while it waited), with `live` as what runs.
v1::AgentMessage NotStartedResult(const Job& job, absl::string_view why, const v1::AppHealth& live);

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_DAEMON_JOB_RUNNER_H_
