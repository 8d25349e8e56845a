#include "agent/daemon/job_runner.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
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
  }
  return "job";
}

// Every step report of the pipeline, as it happens, on the stream.
class StreamProgress final : public ProgressSink {
 public:
  StreamProgress(MessageSink& sink, const Job& job) : sink_(sink), job_(job) {}

  void Report(const StepProgress& progress) override {
    v1::AgentMessage message;
    v1::StepProgress* out = message.mutable_progress();
    out->set_app(job_.app);
    out->set_deploy_id(job_.deploy_id);
    out->set_step(progress.step);
    out->set_state(ToProto(progress.state));
    out->set_elapsed_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(progress.elapsed)));
    out->set_message(progress.message);
    sink_.Send(std::move(message));
  }

 private:
  MessageSink& sink_;
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
  if (state.live().id().empty() || !spec::SameSpec(state.live().spec(), job.spec) ||
      state.has_in_flight() || health_.Current(job.app).health() != v1::HEALTH_STATE_HEALTHY) {
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

void JobRunner::Execute(const Job& job, const std::atomic<bool>& canceled) {
  if (AnswerIfAlreadyLive(job)) return;
  spdlog::info("{}: {} {} started (revision {}, tag {})", job.app, KindName(job.kind),
               job.deploy_id, job.revision, job.spec.tag());
  health_.BeginJob(job.app);
  StreamProgress progress(sink_, job);
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
  }
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
