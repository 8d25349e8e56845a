// One agent's stream (AgentService.Connect), controller side: a gRPC
// callback-API reactor, so thousands of sessions cost memory, not threads.
//
// Life of a session:
//  0. Every message is checked before anything else sees it: against the
//     stream's rate limit (a token bucket; over it the stream ends with
//     RESOURCE_EXHAUSTED, logged once naming the host) and against
//     agent_message_limits.h (INVALID_ARGUMENT naming the field and size).
//     Log lines quote what the agent sent only through text::ForLog.
//  1. The first message must be Hello (else INVALID_ARGUMENT). The caller
//     was authenticated before the session started (auth::Guard): an
//     enrolled agent's Hello must name its certificate's host (else
//     PERMISSION_DENIED) and its labels are replaced by the ones bound at
//     enrollment; only an agent accepted without a certificate
//     (--insecure-agents) is taken at its word.
//  2. Welcome is queued first, then the Hello goes to the listener (the
//     fleet), which registers the session — replacing, and closing with
//     ABORTED, an older session of the same host — and may queue work.
//  3. Every later message goes to the listener as it arrives.
//  4. When the stream is done the listener hears of it, the handle goes
//     inert, and the reactor deletes itself (OnDone, and only there).
//
// Reactions never block: they parse, validate and hand messages to the
// listener, whose methods only update memory. Messages to the agent are
// queued under a mutex with one write in flight; the next starts when the
// previous completes.
#ifndef PYSERVICE_CONTROLLER_FLEET_AGENT_SESSION_H_
#define PYSERVICE_CONTROLLER_FLEET_AGENT_SESSION_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/fleet/agent_connection.h"
#include "controller/auth/principal.h"
#include "controller/fleet/token_bucket.h"
#include "common/time/clock.h"
#include "pyservice/v1/agent.pb.h"

namespace pyservice::controller::fleet {

class AgentSession;

// The fleet's reference to one session (AgentConnection). It stays valid
// after the stream ends (then every call does nothing), so the fleet may
// hold it without caring when gRPC deletes the reactor.
class AgentSessionHandle final : public AgentConnection {
 public:
  AgentSessionHandle(const AgentSessionHandle&) = delete;
  AgentSessionHandle& operator=(const AgentSessionHandle&) = delete;

  void Send(v1::ControllerMessage message) override;
  void Close(const grpc::Status& status) override;

 private:
  friend class AgentSession;
  explicit AgentSessionHandle(AgentSession* session) : session_(session) {}
  // Called by the session in OnDone: waits for a Send/Close in progress,
  // then makes every later call a no-op.
  void Detach();

  // Lock order: AgentSessionHandle::mu_ before AgentSession::mu_.
  absl::Mutex mu_;
  AgentSession* session_ ABSL_GUARDED_BY(mu_);
};

// What a session reports. Implemented by the fleet (fleet.h). Every method
// is called from a gRPC reaction and must not block.
class AgentSessionListener {
 public:
  virtual ~AgentSessionListener() = default;
  // A valid Hello; hello.host() is the name the host is known by. OK makes
  // `session` the host's current one. An error ends the stream with it.
  virtual absl::Status OnHello(uint64_t session_id, const v1::Hello& hello,
                               std::shared_ptr<AgentConnection> session) = 0;
  // Any message after an accepted Hello (heartbeat, progress, result,
  // health).
  virtual void OnMessage(const std::string& host, uint64_t session_id,
                         const v1::AgentMessage& message) = 0;
  // The stream of an accepted Hello is done.
  virtual void OnSessionEnded(const std::string& host, uint64_t session_id) = 0;
  // A new stream, before its Hello: the fleet ends streams whose Hello does
  // not arrive in time, so a connection that never says who it is cannot
  // hold a descriptor forever.
  virtual void OnSessionStarted(uint64_t /*session_id*/,
                                std::shared_ptr<AgentConnection> /*session*/) {}
  // A stream ended before a Hello was accepted.
  virtual void OnSessionAbandoned(uint64_t /*session_id*/) {}
};

struct AgentSessionOptions {
  // Told to the agent in Welcome.
  absl::Duration heartbeat_interval = absl::Seconds(5);
  // Messages the agent may send: a deploy's progress comes in bursts of
  // tens per app, heartbeats every few seconds.
  RateLimit rate_limit;
  // Times the rate limit; must outlive the session.
  const Clock* clock = nullptr;
};

class AgentSession final
    : public grpc::ServerBidiReactor<v1::AgentMessage, v1::ControllerMessage> {
 public:
  // Starts reading. `listener` must outlive every session; `id` is unique
  // per controller process.
  AgentSession(grpc::CallbackServerContext* context, AgentSessionListener& listener,
               auth::Principal caller, uint64_t id, const AgentSessionOptions& options);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  friend class AgentSessionHandle;
  ~AgentSession() override = default;

  // Rate limit and size limits of `incoming_`; the status to end the
  // stream with when it breaks one.
  std::optional<grpc::Status> CheckIncoming();
  // Who the agent is, for log lines: its host once the Hello is accepted,
  // the certificate's host, or the peer address.
  std::string WhoForLog() const;
  // The first message: checks, identity, Welcome, registration.
  absl::Status AcceptHello(v1::Hello hello);
  void Enqueue(v1::ControllerMessage message);
  void Close(const grpc::Status& status);
  void StartNextWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  grpc::CallbackServerContext* const context_;
  AgentSessionListener& listener_;
  const auth::Principal caller_;
  const uint64_t id_;
  const absl::Duration heartbeat_interval_;
  const std::shared_ptr<AgentSessionHandle> handle_;

  // Touched only by read reactions (one read is in flight at a time) and by
  // OnDone, which runs after every other reaction.
  TokenBucket rate_;
  v1::AgentMessage incoming_;
  std::string host_;
  bool hello_accepted_ = false;

  absl::Mutex mu_;
  std::deque<v1::ControllerMessage> outbox_ ABSL_GUARDED_BY(mu_);
  // The message being written; gRPC reads it until OnWriteDone.
  v1::ControllerMessage writing_ ABSL_GUARDED_BY(mu_);
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  // Set by the first Close; Finish is called once no write is in flight.
  std::optional<grpc::Status> finish_status_ ABSL_GUARDED_BY(mu_);
  bool finish_called_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_AGENT_SESSION_H_
