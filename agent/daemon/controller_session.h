// One AgentService.Connect stream, from the agent's Hello to the stream's
// end.
//
// gRPC's synchronous API, with two threads: the thread that calls Run()
// opens the stream, writes the Hello and then reads until the stream ends;
// a writer thread owned by the session writes everything else — queued
// messages and heartbeats — one at a time. The sync API allows exactly one
// reader and one writer at once, and a single writer keeps the order of
// what the daemon's threads queued. Why not the callback API: an agent has
// one stream, so a thread per stream costs nothing here, while the reader
// may then block (the daemon's handlers queue work and return) and the
// code reads top to bottom. (The controller, with thousands of streams,
// uses the callback API.)
//
// Send() never blocks: messages wait in a queue (bounded; beyond the bound
// they are dropped with a warning, the next Hello repairing what was lost).
//
// The stream ends when the controller ends it, when it breaks, when no
// Welcome arrives within `welcome_timeout`, or on Cancel().
#ifndef PYSERVICE_AGENT_DAEMON_CONTROLLER_SESSION_H_
#define PYSERVICE_AGENT_DAEMON_CONTROLLER_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "pyservice/v1/agent.grpc.pb.h"

namespace pyservice::agent {

class ControllerSession {
 public:
  // What the session asks of the daemon; called from the session's reader
  // thread.
  class Handler {
   public:
    virtual ~Handler() = default;
    // The Hello that opens the stream: host, labels, version, every app.
    // May block briefly (it reads unit states).
    virtual v1::Hello MakeHello() = 0;
    // The controller accepted the stream.
    virtual void OnWelcome(const v1::Welcome& welcome) = 0;
    // A DeployRequest, RemoveRequest or CancelRequest. Should queue the
    // work and return: no other message is read meanwhile.
    virtual void OnWork(const v1::ControllerMessage& message) = 0;
  };

  struct Options {
    // The controller must answer the Hello within this.
    absl::Duration welcome_timeout = absl::Seconds(30);
    // Until the Welcome says otherwise (and when it says 0).
    absl::Duration default_heartbeat_interval = absl::Seconds(10);
    // Messages waiting to be written, at most.
    size_t max_queued = 10000;
  };

  // How a stream ended.
  struct End {
    absl::Status status;
    bool welcomed = false;
  };

  ControllerSession(std::shared_ptr<grpc::Channel> channel, Handler& handler, Options options);
  ControllerSession(const ControllerSession&) = delete;
  ControllerSession& operator=(const ControllerSession&) = delete;
  ~ControllerSession();

  // Runs the stream to its end. Call once.
  End Run() ABSL_LOCKS_EXCLUDED(mu_);
  // Queues `message` for the stream; dropped once the stream is over.
  void Send(v1::AgentMessage message) ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the stream from any thread; Run returns soon after.
  void Cancel() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void WriteLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the stream with `reason` (the first reason wins).
  void Abort(absl::Status reason) ABSL_LOCKS_EXCLUDED(mu_);

  const std::shared_ptr<grpc::Channel> channel_;
  Handler& handler_;
  const Options options_;
  // Created with the session so Cancel() works before the call starts.
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::ControllerMessage>> stream_;
  std::thread writer_;

  absl::Mutex mu_;
  std::deque<v1::AgentMessage> queue_ ABSL_GUARDED_BY(mu_);
  bool dropped_warned_ ABSL_GUARDED_BY(mu_) = false;
  // The reader saw the end, or someone ended the stream: the writer stops.
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  // Why we ended the stream ourselves; OK when the controller or the
  // network did.
  absl::Status abort_reason_ ABSL_GUARDED_BY(mu_);
  bool welcomed_ ABSL_GUARDED_BY(mu_) = false;
  // Set by the reader when the Welcome changes the writer's schedule.
  bool schedule_changed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration heartbeat_interval_ ABSL_GUARDED_BY(mu_);
  absl::Time next_heartbeat_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  uint64_t heartbeat_sequence_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_DAEMON_CONTROLLER_SESSION_H_
