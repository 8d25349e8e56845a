#include "agent/daemon/job_runner.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/drift/drift_check.h"
#include "agent/install/pipeline.h"
#include "common/spec/canonical.h"
#include "spdlog/spdlog.h"

namespace pyservice::agent {
namespace {

v1::StepState ToProto(StepState state) {
  switch (state) {
    case StepState::kRunning:
      return v1::STEP_STATE_RUNNING;
    case StepState::kDone:
      return v1::STEP_STATE_DONE;
    case StepState::kUnchanged:
      return v1::STEP_STATE_UNCHANGED;
    case StepState::kFailed:
      return v1::STEP_STATE_FAILED;
  }
  return v1::STEP_STATE_UNSPECIFIED;
}

const char* KindName(Job::Kind kind) {
  switch (kind) {
    case Job::Kind::kDeploy:
      return "deploy";
    case Job::Kind::kPrepare:
      return "prepare";
    case Job::Kind::kRemove:
      return "remove";
    case Job::Kind::kCheckDrift:
      return "drift check";
  }
  return "job";
}

// A repair's step reports go to the log: it answers no request of the
// controller (which sees its effect in the app's health instead). Step
// messages name paths and units, never contents.
class LogProgress final : public ProgressSink {
 public:
  void Report(const StepProgress& progress) override {
    if (progress.state == StepState::kRunning) return;
    if (progress.state == StepState::kFailed) {
      spdlog::warn("{}: drift repair: {} failed: {}", progress.app, progress.step,
                   progress.message);
    } else if (!progress.message.empty()) {
      spdlog::info("{}: drift repair: {}: {}", progress.app, progress.step, progress.message);
    }
  }
};

bool HasUnrepairedDrift(const v1::AppHealth& health) {
  return std::any_of(health.drift().begin(), health.drift().end(),
                     [](const v1::Drift& drift) { return !drift.repaired(); });
}

// Every step report of the pipeline, as it happens, on the stream — except
// a prepare's: the controller shows none of them (a host is "preparing"
// until the result), and in a rollout every host of a later wave prepares,
// so they would be most of what the controller reads while it dispatches a
// wave. A prepare's steps are counted in the agent's own metrics instead.
class StreamProgress final : public ProgressSink {
 public:
  StreamProgress(MessageSink& sink, AgentMetrics* metrics, const Job& job)
      : sink_(sink), metrics_(metrics), job_(job) {}

  void Report(const StepProgress& progress) override {
    v1::AgentMessage message;
    v1::StepProgress* out = message.mutable_progress();
    out->set_app(job_.app);
    out->set_deploy_id(job_.deploy_id);
    out->set_step(progress.step);
    out->set_state(ToProto(progress.state));
    out->set_elapsed_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(progress.elapsed)));
    out->set_message(progress.message);
    if (job_.kind == Job::Kind::kPrepare) {
      if (metrics_ != nullptr) metrics_->Record(message);
      return;
    }
    sink_.Send(std::move(message));
  }

 private:
  MessageSink& sink_;
  AgentMetrics* const metrics_;
  const Job& job_;
};

}  // namespace

v1::AgentMessage NotStartedResult(const Job& job, absl::string_view why,
                                  const v1::AppHealth& live) {
  v1::AgentMessage message;
  v1::DeployResult* result = message.mutable_result();
  result->set_app(job.app);
  result->set_deploy_id(job.deploy_id);
  result->set_ok(false);
  result->set_error(std::string(why));
  *result->mutable_live() = live;
  return message;
}

bool JobRunner::AnswerIfAlreadyLive(const Job& job) {
  if (job.kind == Job::Kind::kRemove) return false;
  const v1::AppState state = health_.State(job.app);
  // Drift left in place (policy report) is put back by deploying: the
  // activation steps rewrite what differs.
  const v1::AppHealth current = health_.Current(job.app);
  if (state.live().id().empty() || !spec::SameSpec(state.live().spec(), job.spec) ||
      state.has_in_flight() || current.health() != v1::HEALTH_STATE_HEALTHY ||
      HasUnrepairedDrift(current)) {
    return false;
  }
  const std::string digest = DeployDigest(job.spec, job.spec_digest);
  if (state.live().revision() != job.revision || state.live().spec_digest() != digest) {
    // The same spec as another revision (deleted and applied again), or
    // under another digest (one from before the controller keyed its
    // digests, or from its previous key): remember what the controller now
    // knows it by, which is what the result reports.
    v1::AppState updated = state;
    updated.mutable_live()->set_revision(job.revision);
    updated.mutable_live()->set_spec_digest(digest);
    if (absl::Status saved = store_.Save(updated); !saved.ok()) {
      spdlog::warn("{}: cannot record revision {}: {}", job.app, job.revision,
                   std::string(saved.message()));
    }
  }
  spdlog::info("{}: {} {}: revision {} is live and healthy already", job.app, KindName(job.kind),
               job.deploy_id, job.revision);
  v1::AgentMessage message;
  v1::DeployResult* result = message.mutable_result();
  result->set_app(job.app);
  result->set_deploy_id(job.deploy_id);
  result->set_ok(true);
  health_.Refresh(job.app, [&](const v1::AppHealth& live) {
    *result->mutable_live() = live;
    sink_.Send(std::move(message));
  });
  return true;
}

void JobRunner::CheckDrift(const Job& job) {
  absl::StatusOr<std::optional<v1::AppState>> loaded = store_.Load(job.app);
  if (!loaded.ok()) {
    spdlog::warn("{}: drift check: cannot read its state: {}", job.app,
                 std::string(loaded.status().message()));
    return;
  }
  if (!*loaded) return;
  const v1::AppState& state = **loaded;
  absl::StatusOr<std::vector<DriftFinding>> found = FindDrift(state, host_.systemd);
  if (!found.ok()) {
    spdlog::warn("{}: drift check failed: {}", job.app, std::string(found.status().message()));
    return;
  }
  const absl::Time now = host_.clock.Now();
  if (found->empty()) {
    health_.SetDrift(job.app, {}, /*repaired=*/false, now);
    return;
  }
  const std::string what = DescribeDrift(*found);
  // A mask is the operator's deliberate off switch: starting the unit
  // anyway would fight them, and the repair would fail on it.
  const bool masked = std::any_of(found->begin(), found->end(),
                                  [](const DriftFinding& f) { return f.reason == "masked"; });
  if (state.live().spec().drift() == v1::DRIFT_POLICY_REPORT || masked) {
    spdlog::warn("{}: drift (reported, not repaired{}): {}", job.app,
                 masked ? ": a unit is masked" : "", what);
    health_.SetDrift(job.app, *found, /*repaired=*/false, now);
    return;
  }
  spdlog::warn("{}: drift, repairing: {}", job.app, what);
  health_.BeginJob(job.app);
  LogProgress progress;
  Pipeline pipeline(host_, settings_, store_, progress);
  const absl::Status repaired = pipeline.Repair(job.app);
  if (repaired.ok()) {
    spdlog::info("{}: drift repaired: {}", job.app, what);
  } else {
    spdlog::warn("{}: drift repair failed: {}", job.app, std::string(repaired.message()));
  }
  health_.SetDrift(job.app, *found, repaired.ok(), now);
  health_.Refresh(job.app);
}

void JobRunner::Execute(const Job& job, const std::atomic<bool>& canceled) {
  if (job.kind == Job::Kind::kCheckDrift) {
    CheckDrift(job);
    return;
  }
  if (AnswerIfAlreadyLive(job)) return;
  spdlog::info("{}: {} {} started (revision {}, tag {})", job.app, KindName(job.kind),
               job.deploy_id, job.revision, job.spec.tag());
  health_.BeginJob(job.app);
  StreamProgress progress(sink_, metrics_, job);
  Pipeline pipeline(host_, settings_, store_, progress);
  DeployOptions options;
  options.revision = job.revision;
  options.spec_digest = job.spec_digest;
  options.canceled = [&canceled] { return canceled.load(); };
  DeployOutcome outcome;
  absl::Status status;
  switch (job.kind) {
    case Job::Kind::kDeploy:
      status = pipeline.Deploy(job.spec, options, &outcome);
      break;
    case Job::Kind::kPrepare:
      status = pipeline.Prepare(job.spec, options, &outcome);
      break;
    case Job::Kind::kRemove:
      status = pipeline.Remove(job.app);
      if (!status.ok()) outcome.failed_step = "remove";
      break;
    case Job::Kind::kCheckDrift:
      break;  // handled above
  }
  if (job.kind != Job::Kind::kPrepare) health_.ClearDrift(job.app);
  if (status.ok()) {
    spdlog::info("{}: {} {} done", job.app, KindName(job.kind), job.deploy_id);
  } else {
    spdlog::warn("{}: {} {} failed: {}", job.app, KindName(job.kind), job.deploy_id,
                 std::string(status.message()));
  }
  v1::AgentMessage message;
  v1::DeployResult* result = message.mutable_result();
  result->set_app(job.app);
  result->set_deploy_id(job.deploy_id);
  result->set_ok(status.ok());
  result->set_failed_step(outcome.failed_step);
  if (!status.ok()) result->set_error(std::string(status.message()));
  result->set_rolled_back(outcome.rolled_back);
  health_.Refresh(job.app, [&](const v1::AppHealth& live) {
    *result->mutable_live() = live;
    sink_.Send(std::move(message));
  });
}

}  // namespace pyservice::agent
