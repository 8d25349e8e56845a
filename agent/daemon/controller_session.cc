#include "agent/daemon/controller_session.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/api/agent_message_limits.h"
#include "common/status/grpc_status.h"
#include "spdlog/spdlog.h"

namespace pyservice::agent {

ControllerSession::ControllerSession(std::shared_ptr<grpc::Channel> channel, Handler& handler,
                                     Options options)
    : channel_(std::move(channel)),
      handler_(handler),
      options_(options),
      heartbeat_interval_(options.default_heartbeat_interval) {}

ControllerSession::~ControllerSession() {
  Cancel();
  if (writer_.joinable()) writer_.join();
}

void ControllerSession::Send(v1::AgentMessage message) {
  FitAgentMessage(message);
  absl::MutexLock lock(&mu_);
  if (done_) return;
  if (queue_.size() >= options_.max_queued) {
    if (!dropped_warned_) {
      spdlog::warn("the controller does not keep up: dropping messages (over {} queued)",
                   options_.max_queued);
      dropped_warned_ = true;
    }
    return;
  }
  queue_.push_back(std::move(message));
}

void ControllerSession::Cancel() { Abort(absl::CancelledError("the agent is stopping")); }

void ControllerSession::Abort(absl::Status reason) {
  {
    absl::MutexLock lock(&mu_);
    if (abort_reason_.ok()) abort_reason_ = std::move(reason);
    done_ = true;
  }
  // Thread-safe, also before the call started (it then starts canceled).
  context_.TryCancel();
}

ControllerSession::End ControllerSession::Run() {
  End end;
  std::unique_ptr<v1::AgentService::Stub> stub = v1::AgentService::NewStub(channel_);
  stream_ = stub->Connect(&context_);
  {
    // The Hello goes first, written by this thread before the writer
    // starts; the handler's snapshot is taken after the session could
    // queue, so nothing that changed after it is lost.
    v1::AgentMessage hello;
    *hello.mutable_hello() = handler_.MakeHello();
    FitAgentMessage(hello);
    absl::MutexLock lock(&mu_);
    if (!done_) {
      mu_.Unlock();
      const bool written = stream_->Write(hello);
      mu_.Lock();
      if (written) {
        next_heartbeat_ = absl::Now() + options_.welcome_timeout;  // until the Welcome
        writer_ = std::thread([this] { WriteLoop(); });
      }
    }
  }
  v1::ControllerMessage message;
  while (stream_->Read(&message)) {
    if (message.has_welcome()) {
      absl::Duration interval = absl::Milliseconds(message.welcome().heartbeat_interval_ms());
      if (interval <= absl::ZeroDuration()) interval = options_.default_heartbeat_interval;
      {
        absl::MutexLock lock(&mu_);
        if (welcomed_) continue;  // only the first one counts
        welcomed_ = true;
        heartbeat_interval_ = interval;
        next_heartbeat_ = absl::Now() + interval;
        schedule_changed_ = true;
      }
      end.welcomed = true;
      handler_.OnWelcome(message.welcome());
      continue;
    }
    if (!end.welcomed) {
      Abort(absl::FailedPreconditionError(
          "protocol error: the controller sent work before its Welcome"));
      break;
    }
    handler_.OnWork(message);
  }
  {
    absl::MutexLock lock(&mu_);
    done_ = true;
  }
  // Finish may not run while a Write is in flight. The call is over or
  // canceled, so a Write in flight returns at once.
  if (writer_.joinable()) writer_.join();
  const grpc::Status status = stream_->Finish();
  absl::MutexLock lock(&mu_);
  end.status = abort_reason_.ok() ? FromGrpcStatus(status) : abort_reason_;
  if (end.status.ok()) end.status = absl::UnavailableError("the controller ended the stream");
  return end;
}

void ControllerSession::WriteLoop() {
  while (true) {
    v1::AgentMessage message;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return done_ || schedule_changed_ || !queue_.empty();
      };
      mu_.AwaitWithDeadline(absl::Condition(&has_work), next_heartbeat_);
      schedule_changed_ = false;
      if (done_) return;
      const absl::Time now = absl::Now();
      if (now >= next_heartbeat_) {
        if (!welcomed_) {
          mu_.Unlock();
          Abort(absl::DeadlineExceededError(
              absl::StrCat("no Welcome from the controller within ",
                           absl::FormatDuration(options_.welcome_timeout))));
          mu_.Lock();
          return;
        }
        // Heartbeats go before queued messages: a busy queue must not make
        // the controller think the host is lost.
        message.mutable_heartbeat()->set_sequence(++heartbeat_sequence_);
        next_heartbeat_ = now + heartbeat_interval_;
      } else if (!queue_.empty()) {
        message = std::move(queue_.front());
        queue_.pop_front();
      } else {
        continue;
      }
    }
    // The call broke or ended; the reader sees that too and ends the run.
    if (!stream_->Write(message)) return;
  }
}

}  // namespace pyservice::agent
