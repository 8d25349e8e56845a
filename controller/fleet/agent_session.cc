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

AgentSession::AgentSession(grpc::CallbackServerContext* context,
                           AgentSessionListener& listener, auth::Principal caller,
                           uint64_t id, const AgentSessionOptions& options)
    : context_(context),
      listener_(listener),
      caller_(std::move(caller)),
      id_(id),
      heartbeat_interval_(options.heartbeat_interval),
      handle_(new AgentSessionHandle(this)),
      rate_(options.rate_limit, *options.clock) {
  listener_.OnSessionStarted(id_, handle_);
  StartRead(&incoming_);
}

void AgentSession::OnReadDone(bool ok) {
  if (!ok) {
    // The agent closed its side, or the call is cancelled: either way the
    // session is over. OK, since an agent hanging up is no error.
    Close(grpc::Status::OK);
    return;
  }
  if (std::optional<grpc::Status> refused = CheckIncoming(); refused.has_value()) {
    Close(*refused);
    return;
  }
  if (!hello_accepted_) {
    if (!incoming_.has_hello()) {
      Close(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         "the first message on the stream must be Hello"));
      return;
    }
    absl::Status accepted = AcceptHello(std::move(*incoming_.mutable_hello()));
    if (!accepted.ok()) {
      // The message quotes agent text only through text::ForLog.
      spdlog::warn("agent session of {} refused: {}", WhoForLog(),
                   std::string(accepted.message()));
      Close(ToGrpcStatus(accepted));
      return;
    }
  } else {
    switch (incoming_.message_case()) {
      case v1::AgentMessage::kHello:
        Close(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "Hello sent twice on one stream"));
        return;
      case v1::AgentMessage::MESSAGE_NOT_SET:
        // A newer agent's message this controller does not know: ignore it,
        // so agents can be upgraded before the controller.
        break;
      default:
        listener_.OnMessage(host_, id_, incoming_);
        break;
    }
  }
  {
    absl::MutexLock lock(&mu_);
    if (finish_status_.has_value()) return;  // closing: read no more
  }
  incoming_.Clear();
  StartRead(&incoming_);
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
  return absl::StrCat("at ", text::ForLog(context_->peer()));
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
      static_cast<uint32_t>(absl::ToInt64Milliseconds(heartbeat_interval_)));
  welcome.mutable_welcome()->set_host(hello.host());
  Enqueue(std::move(welcome));

  host_ = hello.host();
  absl::Status registered = listener_.OnHello(id_, hello, handle_);
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
  // Safe under mu_: gRPC never runs OnWriteDone inline from StartWrite.
  StartWrite(&writing_);
}

void AgentSession::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  write_in_flight_ = false;
  if (!ok && !finish_status_.has_value()) {
    // The stream is broken; nothing more can be written.
    finish_status_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, "write to agent failed");
    outbox_.clear();
  }
  if (finish_status_.has_value()) {
    if (!finish_called_) {
      finish_called_ = true;
      Finish(*finish_status_);
    }
    return;
  }
  if (!outbox_.empty()) StartNextWriteLocked();
}

void AgentSession::Close(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  if (finish_status_.has_value()) return;
  finish_status_ = status;
  outbox_.clear();
  if (!write_in_flight_) {
    finish_called_ = true;
    Finish(status);
  }
}

void AgentSession::OnCancel() {
  Close(grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled"));
}

void AgentSession::OnDone() {
  handle_->Detach();
  if (hello_accepted_) {
    listener_.OnSessionEnded(host_, id_);
  } else {
    listener_.OnSessionAbandoned(id_);
  }
  delete this;
}

}  // namespace pyservice::controller::fleet
