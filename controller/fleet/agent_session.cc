#include "controller/fleet/agent_session.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "common/text/log_text.h"
#include "controller/fleet/agent_message_limits.h"
#include "spdlog/spdlog.h"

namespace pyservice::controller::fleet {
void AgentSessionHandle::Send(v1::ControllerMessage message) {
  absl::MutexLock lock(&mu_);
  if (session_ != nullptr) session_->Enqueue(std::move(message));
}

void AgentSessionHandle::Close(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  if (session_ != nullptr) session_->Close(status);
}

void AgentSessionHandle::Detach() {
  absl::MutexLock lock(&mu_);
  session_ = nullptr;
}

void AgentSession::Await(AgentSessionSource& source, grpc::ServerCompletionQueue* queue) {
  {
    absl::MutexLock lock(&source.mu);
    ++source.alive;
  }
  auto* session = new AgentSession(source, queue);
  source.request_call(&session->context_, &session->stream_, queue, &session->on_call_arrived_);
}

void AgentSession::Dispatch(void* tag, bool ok) {
  Operation* operation = static_cast<Operation*>(tag);
  (operation->session->*operation->reaction)(ok);
}

AgentSession::AgentSession(AgentSessionSource& source, grpc::ServerCompletionQueue* queue)
    : source_(source),
      queue_(queue),
      handle_(new AgentSessionHandle(this)),
      rate_(source.options.rate_limit, *source.options.clock) {}

AgentSession::~AgentSession() {
  absl::MutexLock lock(&source_.mu);
  --source_.alive;
}

void AgentSession::OnCallArrived(bool ok) {
  if (!ok) {
    // The server is shutting down: no call came, and none will.
    delete this;
    return;
  }
  Await(source_, queue_);
  id_ = source_.next_session_id++;
  absl::StatusOr<auth::Principal> caller = source_.gate(context_, "Connect");
  absl::MutexLock lock(&mu_);
  if (!caller.ok()) {
    CloseLocked(ToGrpcStatus(caller.status()));
    return;
  }
  caller_ = *std::move(caller);
  started_ = true;
  source_.listener->OnSessionStarted(id_, handle_);
  StartReadLocked();
}

void AgentSession::OnReadDone(bool ok) {
  // A failed read: the agent closed its side, or the call is cancelled;
  // either way the session is over. OK, since an agent hanging up is no
  // error.
  const std::optional<grpc::Status> end = ok ? React() : grpc::Status::OK;
  {
    absl::MutexLock lock(&mu_);
    read_pending_ = false;
    if (end.has_value()) CloseLocked(*end);
    // Closing: read no more.
    if (!finish_status_.has_value()) {
      StartReadLocked();
      return;
    }
  }
  EndIfDone();
}

std::optional<grpc::Status> AgentSession::React() {
  if (std::optional<grpc::Status> refused = CheckIncoming(); refused.has_value()) {
    return refused;
  }
  if (!hello_accepted_) {
    if (!incoming_.has_hello()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "the first message on the stream must be Hello");
    }
    absl::Status accepted = AcceptHello(std::move(*incoming_.mutable_hello()));
    if (!accepted.ok()) {
      // The message quotes agent text only through text::ForLog.
      spdlog::warn("agent session of {} refused: {}", WhoForLog(),
                   std::string(accepted.message()));
      return ToGrpcStatus(accepted);
    }
    return std::nullopt;
  }
  switch (incoming_.message_case()) {
    case v1::AgentMessage::kHello:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "Hello sent twice on one stream");
    case v1::AgentMessage::MESSAGE_NOT_SET:
      // A newer agent's message this controller does not know: ignore it,
      // so agents can be upgraded before the controller.
      return std::nullopt;
    default:
      source_.listener->OnMessage(host_, id_, incoming_);
      return std::nullopt;
  }
}

void AgentSession::StartReadLocked() {
  incoming_.Clear();
  read_pending_ = true;
  stream_.Read(&incoming_, &on_read_done_);
}

std::optional<grpc::Status> AgentSession::CheckIncoming() {
  if (!rate_.TryTake()) {
    // Logged here, once: the stream ends with this message, and nothing
    // the agent sends after it is read.
    const std::string why = absl::StrCat("more than ", rate_.limit().per_second,
                                         " messages a second (burst ", rate_.limit().burst,
                                         "): the stream is ended");
    spdlog::warn("agent {} is flooding the controller: {}", WhoForLog(), why);
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, why);
  }
  // A Hello is checked by AcceptHello, once its identity is settled.
  if (incoming_.has_hello()) return std::nullopt;
  if (absl::Status valid = ValidateAgentMessage(incoming_); !valid.ok()) {
    // The message quotes agent text only through text::ForLog.
    spdlog::warn("agent {} sent a message out of bounds: {}", WhoForLog(),
                 std::string(valid.message()));
    return ToGrpcStatus(valid);
  }
  return std::nullopt;
}

std::string AgentSession::WhoForLog() const {
  if (hello_accepted_) return absl::StrCat("host ", text::ForLog(host_));
  if (caller_.kind == auth::Principal::Kind::kAgent) {
    return absl::StrCat("host ", text::ForLog(caller_.host));
  }
  return absl::StrCat("at ", text::ForLog(context_.peer()));
}

absl::Status AgentSession::AcceptHello(v1::Hello hello) {
  if (caller_.kind == auth::Principal::Kind::kAgent) {
    if (hello.host().empty()) {
      hello.set_host(caller_.host);
    } else if (hello.host() != caller_.host) {
      return absl::PermissionDeniedError(absl::StrCat(
          "hello.host: \"", text::ForLog(hello.host(), AgentMessageLimits::kHostName),
          "\" is not this client's identity \"", caller_.host, "\""));
    }
    if (caller_.labels_bound) {
      // The operator bound these at enrollment; what the agent claims
      // does not count (else any host could claim any app's label).
      hello.mutable_labels()->clear();
      hello.mutable_labels()->insert(caller_.labels.begin(), caller_.labels.end());
    }
  }
  if (absl::Status valid = ValidateHello(hello); !valid.ok()) return valid;

  // Welcome goes first in the queue: the listener may queue deploys for
  // this session as soon as it registers it.
  v1::ControllerMessage welcome;
  welcome.mutable_welcome()->set_heartbeat_interval_ms(
      static_cast<uint32_t>(absl::ToInt64Milliseconds(source_.options.heartbeat_interval)));
  welcome.mutable_welcome()->set_host(hello.host());
  Enqueue(std::move(welcome));

  host_ = hello.host();
  absl::Status registered = source_.listener->OnHello(id_, hello, handle_);
  if (!registered.ok()) return registered;
  hello_accepted_ = true;
  return absl::OkStatus();
}

void AgentSession::Enqueue(v1::ControllerMessage message) {
  absl::MutexLock lock(&mu_);
  if (finish_status_.has_value()) return;
  outbox_.push_back(std::move(message));
  if (!write_in_flight_) StartNextWriteLocked();
}

void AgentSession::StartNextWriteLocked() {
  writing_ = std::move(outbox_.front());
  outbox_.pop_front();
  write_in_flight_ = true;
  // Safe under mu_: completions come only through the queue's thread.
  stream_.Write(writing_, &on_write_done_);
}

void AgentSession::FinishLocked() {
  finish_called_ = true;
  stream_.Finish(*finish_status_, &on_finish_done_);
}

void AgentSession::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    write_in_flight_ = false;
    // The stream is broken; nothing more can be written.
    if (!ok) CloseLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write to agent failed"));
    if (!finish_status_.has_value()) {
      if (!outbox_.empty()) StartNextWriteLocked();
      return;
    }
    if (!finish_called_) FinishLocked();
  }
  EndIfDone();
}

void AgentSession::OnFinishDone(bool /*ok*/) {
  {
    absl::MutexLock lock(&mu_);
    finish_done_ = true;
  }
  EndIfDone();
}

void AgentSession::Close(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  CloseLocked(status);
}

void AgentSession::CloseLocked(const grpc::Status& status) {
  if (finish_status_.has_value()) return;
  finish_status_ = status;
  outbox_.clear();
  if (!write_in_flight_) FinishLocked();
}

void AgentSession::EndIfDone() {
  {
    absl::MutexLock lock(&mu_);
    if (ended_ || !finish_done_ || read_pending_ || write_in_flight_) return;
    ended_ = true;
  }
  handle_->Detach();
  if (hello_accepted_) {
    source_.listener->OnSessionEnded(host_, id_);
  } else if (started_) {
    source_.listener->OnSessionAbandoned(id_);
  }
  delete this;
}

}  // namespace pyservice::controller::fleet
