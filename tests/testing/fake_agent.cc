#include "tests/testing/fake_agent.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/str_cat.h"

namespace pyservice::testing {

absl::StatusOr<std::unique_ptr<FakeAgent>> FakeAgent::Start(FakeAgentOptions options) {
  std::unique_ptr<FakeAgent> agent(new FakeAgent(std::move(options)));
  grpc::ChannelArguments arguments;
  if (!agent->options_.tls_server_name.empty()) {
    arguments.SetSslTargetNameOverride(agent->options_.tls_server_name);
  }
  agent->channel_ =
      agent->options_.channel != nullptr
          ? agent->options_.channel
          : grpc::CreateCustomChannel(agent->options_.address,
                                      agent->options_.credentials != nullptr
                                          ? agent->options_.credentials
                                          : grpc::InsecureChannelCredentials(),
                                      arguments);
  agent->stub_ = v1::AgentService::NewStub(agent->channel_);
  for (const auto& [key, value] : agent->options_.metadata) {
    agent->context_.AddMetadata(key, value);
  }
  agent->stream_ = agent->stub_->Connect(&agent->context_);
  if (agent->stream_ == nullptr) return absl::InternalError("Connect returned no stream");
  v1::AgentMessage first;
  if (agent->options_.first_message.has_value()) {
    first = *agent->options_.first_message;
  } else {
    v1::Hello& hello = *first.mutable_hello();
    hello.set_host(agent->options_.host);
    hello.mutable_labels()->insert(agent->options_.labels.begin(), agent->options_.labels.end());
    hello.set_agent_version(agent->options_.agent_version);
    for (const auto& [name, app] : agent->options_.apps) *hello.add_apps() = app;
  }
  {
    absl::MutexLock lock(&agent->mu_);
    agent->apps_ = agent->options_.apps;
  }
  agent->Write(first);
  agent->reader_ = std::thread([a = agent.get()] { a->ReadLoop(); });
  return agent;
}

FakeAgent::FakeAgent(FakeAgentOptions options) : options_(std::move(options)) {}

FakeAgent::~FakeAgent() {
  context_.TryCancel();
  ReleaseDeploys();
  if (reader_.joinable()) reader_.join();
}

void FakeAgent::Write(const v1::AgentMessage& message) {
  absl::MutexLock lock(&write_mu_);
  if (writes_done_) return;
  stream_->Write(message);
}

void FakeAgent::CloseStream() {
  absl::MutexLock lock(&write_mu_);
  if (writes_done_) return;
  writes_done_ = true;
  stream_->WritesDone();
}

void FakeAgent::SendRaw(const v1::AgentMessage& message) { Write(message); }

void FakeAgent::SendHeartbeat() {
  v1::AgentMessage message;
  {
    absl::MutexLock lock(&mu_);
    message.mutable_heartbeat()->set_sequence(++heartbeats_);
  }
  Write(message);
}

void FakeAgent::SendHealth(const v1::AppHealth& health) {
  {
    absl::MutexLock lock(&mu_);
    apps_[health.app()] = health;
  }
  v1::AgentMessage message;
  *message.mutable_health() = health;
  Write(message);
}

void FakeAgent::FailApp(const std::string& app, const std::string& step,
                        const std::string& error) {
  absl::MutexLock lock(&mu_);
  failures_[app] = {step, error};
}

void FakeAgent::FailTag(const std::string& app, const std::string& tag, const std::string& step,
                        const std::string& error) {
  absl::MutexLock lock(&mu_);
  tag_failures_[{app, tag}] = {step, error};
}

void FakeAgent::SucceedApp(const std::string& app) {
  absl::MutexLock lock(&mu_);
  failures_.erase(app);
  std::erase_if(tag_failures_, [&](const auto& entry) { return entry.first.first == app; });
}

void FakeAgent::ReportPrepareSteps() {
  absl::MutexLock lock(&mu_);
  prepare_progress_ = true;
}

void FakeAgent::StickTag(const std::string& app, const std::string& tag) {
  absl::MutexLock lock(&mu_);
  stuck_tags_.insert({app, tag});
}

bool FakeAgent::IsStuck(uint64_t deploy_id) const {
  absl::MutexLock lock(&mu_);
  return stuck_.contains(deploy_id);
}

int FakeAgent::StuckCount() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(stuck_.size());
}

void FakeAgent::Cancel(const v1::CancelRequest& request) {
  std::pair<std::string, std::string> stuck;
  v1::AgentMessage message;
  {
    absl::MutexLock lock(&mu_);
    const auto it = stuck_.find(request.deploy_id());
    if (it == stuck_.end()) return;  // finished already: nothing to answer
    stuck = it->second;
    stuck_.erase(it);
    if (const auto live = apps_.find(stuck.first); live != apps_.end()) {
      *message.mutable_result()->mutable_live() = live->second;
    }
  }
  Progress(stuck.first, request.deploy_id(), stuck.second, v1::STEP_STATE_FAILED);
  v1::DeployResult& result = *message.mutable_result();
  result.set_app(stuck.first);
  result.set_deploy_id(request.deploy_id());
  result.set_ok(false);
  result.set_failed_step(stuck.second);
  result.set_error(absl::StrCat(stuck.second, ": canceled"));
  Write(message);
}

absl::StatusOr<v1::CancelRequest> FakeAgent::WaitForCancel(absl::Duration timeout) {
  std::optional<v1::CancelRequest> found;
  absl::MutexLock lock(&mu_);
  auto has = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const v1::ControllerMessage& message : received_) {
      if (message.has_cancel()) {
        found = message.cancel();
        return true;
      }
    }
    return end_.has_value();
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&has), timeout) || !found.has_value()) {
    return absl::DeadlineExceededError(absl::StrCat(options_.host, ": no CancelRequest"));
  }
  return *found;
}

void FakeAgent::HoldDeploys() {
  absl::MutexLock lock(&mu_);
  hold_ = true;
}

void FakeAgent::ReleaseDeploys() {
  absl::MutexLock lock(&mu_);
  hold_ = false;
}

void FakeAgent::ReadLoop() {
  v1::ControllerMessage message;
  while (stream_->Read(&message)) {
    {
      absl::MutexLock lock(&mu_);
      received_.push_back(message);
    }
    if (message.has_deploy()) Deploy(message.deploy());
    if (message.has_remove()) Remove(message.remove());
    if (message.has_cancel()) Cancel(message.cancel());
  }
  const grpc::Status status = stream_->Finish();
  absl::MutexLock lock(&mu_);
  end_ = status;
}

void FakeAgent::Progress(const std::string& app, uint64_t deploy_id, const std::string& step,
                         v1::StepState state) {
  v1::AgentMessage message;
  v1::StepProgress& progress = *message.mutable_progress();
  progress.set_app(app);
  progress.set_deploy_id(deploy_id);
  progress.set_step(step);
  progress.set_state(state);
  progress.set_elapsed_ms(state == v1::STEP_STATE_RUNNING ? 0 : 10);
  Write(message);
}

void FakeAgent::Deploy(const v1::DeployRequest& request) {
  const std::string& app = request.spec().name();
  const uint64_t id = request.deploy_id();
  std::optional<std::pair<std::string, std::string>> failure;
  {
    absl::MutexLock lock(&mu_);
    if (const auto it = failures_.find(app); it != failures_.end()) failure = it->second;
    if (const auto it = tag_failures_.find({app, request.spec().tag()});
        it != tag_failures_.end()) {
      failure = it->second;
    }
  }
  bool report_steps = true;
  {
    absl::MutexLock lock(&mu_);
    if (stuck_tags_.contains({app, request.spec().tag()}) && !options_.steps.empty()) {
      stuck_[id] = {app, options_.steps.front()};
    }
    // As the real agent: a prepare's steps are not sent (older agents did).
    report_steps = !request.prepare_only() || prepare_progress_;
  }
  if (IsStuck(id)) {
    if (report_steps) Progress(app, id, options_.steps.front(), v1::STEP_STATE_RUNNING);
    return;  // the reader goes on: a CancelRequest ends it
  }
  bool first = true;
  for (const std::string& step : options_.steps) {
    if (report_steps) Progress(app, id, step, v1::STEP_STATE_RUNNING);
    if (first) {
      first = false;
      // Held deploys stay in their first step until released (or the
      // stream ends).
      absl::MutexLock lock(&mu_);
      auto released = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !hold_ || end_.has_value();
      };
      mu_.Await(absl::Condition(&released));
    }
    if (failure.has_value() && failure->first == step) {
      if (report_steps) Progress(app, id, step, v1::STEP_STATE_FAILED);
      break;
    }
    if (report_steps) Progress(app, id, step, v1::STEP_STATE_DONE);
  }
  v1::AgentMessage message;
  v1::DeployResult& result = *message.mutable_result();
  result.set_app(app);
  result.set_deploy_id(id);
  if (request.prepare_only()) {
    // Prepared next to what runs, which keeps running.
    result.set_ok(!failure.has_value());
    if (failure.has_value()) {
      result.set_failed_step(failure->first);
      result.set_error(failure->second);
    }
    {
      absl::MutexLock lock(&mu_);
      if (const auto it = apps_.find(app); it != apps_.end()) *result.mutable_live() = it->second;
    }
    Write(message);
    return;
  }
  if (failure.has_value()) {
    result.set_ok(false);
    result.set_failed_step(failure->first);
    result.set_error(failure->second);
    result.set_rolled_back(true);
    absl::MutexLock lock(&mu_);
    if (const auto it = apps_.find(app); it != apps_.end()) *result.mutable_live() = it->second;
  } else {
    v1::AppHealth live;
    live.set_app(app);
    live.set_revision(request.revision());
    live.set_tag(request.spec().tag());
    live.set_commit(absl::StrCat("c0ffee", request.revision()));
    // What real agents report: the controller's digest (keyed; no agent can
    // compute it).
    live.set_spec_digest(request.spec_digest());
    live.set_health(v1::HEALTH_STATE_HEALTHY);
    for (const v1::Service& service : request.spec().services()) {
      v1::UnitHealth& unit = *live.add_units();
      unit.set_unit(absl::StrCat(app, "-", service.name(), ".service"));
      unit.set_active_state("active");
      unit.set_sub_state("running");
    }
    result.set_ok(true);
    *result.mutable_live() = live;
  }
  Write(message);
  // Recorded after the result is written, so a test that saw the new
  // revision (WaitForRevision) sends its next message after the result.
  if (!failure.has_value()) {
    absl::MutexLock lock(&mu_);
    apps_[app] = result.live();
  }
}

void FakeAgent::Remove(const v1::RemoveRequest& request) {
  v1::AgentMessage message;
  message.mutable_result()->set_app(request.app());
  message.mutable_result()->set_deploy_id(request.deploy_id());
  message.mutable_result()->set_ok(true);
  Write(message);
  absl::MutexLock lock(&mu_);
  apps_.erase(request.app());
}

absl::StatusOr<v1::Welcome> FakeAgent::WaitForWelcome(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return end_.has_value() || (!received_.empty() && received_.front().has_welcome());
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&ready), timeout)) {
    return absl::DeadlineExceededError(absl::StrCat(options_.host, ": no Welcome"));
  }
  if (!received_.empty() && received_.front().has_welcome()) return received_.front().welcome();
  return absl::Status(static_cast<absl::StatusCode>(end_->error_code()),
                      absl::StrCat(options_.host, ": stream ended: ", end_->error_message()));
}

absl::StatusOr<grpc::Status> FakeAgent::WaitForEnd(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return end_.has_value(); };
  if (!mu_.AwaitWithTimeout(absl::Condition(&ended), timeout)) {
    return absl::DeadlineExceededError(absl::StrCat(options_.host, ": stream still open"));
  }
  return *end_;
}

absl::StatusOr<v1::DeployRequest> FakeAgent::WaitForDeploy(const std::string& app, int skip,
                                                           absl::Duration timeout) {
  std::optional<v1::DeployRequest> found;
  absl::MutexLock lock(&mu_);
  auto has = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    int seen = 0;
    for (const v1::ControllerMessage& message : received_) {
      if (message.has_deploy() && message.deploy().spec().name() == app && seen++ == skip) {
        found = message.deploy();
        return true;
      }
    }
    return end_.has_value();
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&has), timeout) || !found.has_value()) {
    return absl::DeadlineExceededError(
        absl::StrCat(options_.host, ": no DeployRequest of ", app, end_ ? " (stream ended)" : ""));
  }
  return *found;
}

absl::StatusOr<v1::RemoveRequest> FakeAgent::WaitForRemove(const std::string& app,
                                                           absl::Duration timeout) {
  std::optional<v1::RemoveRequest> found;
  absl::MutexLock lock(&mu_);
  auto has = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const v1::ControllerMessage& message : received_) {
      if (message.has_remove() && message.remove().app() == app) {
        found = message.remove();
        return true;
      }
    }
    return end_.has_value();
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&has), timeout) || !found.has_value()) {
    return absl::DeadlineExceededError(
        absl::StrCat(options_.host, ": no RemoveRequest of ", app));
  }
  return *found;
}

absl::Status FakeAgent::WaitForRevision(const std::string& app, uint32_t revision,
                                        absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto runs = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const auto it = apps_.find(app);
    return revision == 0 ? it == apps_.end()
                         : it != apps_.end() && it->second.revision() == revision;
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&runs), timeout)) {
    return absl::DeadlineExceededError(
        absl::StrCat(options_.host, ": ", app, " never reached revision ", revision));
  }
  return absl::OkStatus();
}

std::vector<v1::ControllerMessage> FakeAgent::received() const {
  absl::MutexLock lock(&mu_);
  return received_;
}

int FakeAgent::DeployCount(const std::string& app) const {
  absl::MutexLock lock(&mu_);
  int count = 0;
  for (const v1::ControllerMessage& message : received_) {
    if (message.has_deploy() && message.deploy().spec().name() == app) ++count;
  }
  return count;
}

int FakeAgent::RemoveCount(const std::string& app) const {
  absl::MutexLock lock(&mu_);
  int count = 0;
  for (const v1::ControllerMessage& message : received_) {
    if (message.has_remove() && message.remove().app() == app) ++count;
  }
  return count;
}

std::map<std::string, v1::AppHealth> FakeAgent::apps() const {
  absl::MutexLock lock(&mu_);
  return apps_;
}

bool FakeAgent::ended() const {
  absl::MutexLock lock(&mu_);
  return end_.has_value();
}

}  // namespace pyservice::testing
