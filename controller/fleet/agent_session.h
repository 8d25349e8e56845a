// One agent's stream (AgentService.Connect), controller side, on gRPC's
// async API: the session's operations complete on one of the agent
// service's completion queues (agent_service.h), so thousands of sessions
// cost memory, not threads. (Not the callback API: its reactors all share one
// process-wide queue, and Debian's libgrpc, built without NDEBUG, scans that
// queue's list of outstanding operations, one pending read per agent, on
// every completion; see docs/BENCHMARKS.md.)
//
// Life of a session:
//  0. It waits for a call (AgentSession::Await). When one arrives, the next
//     session starts waiting, and the gate says who the caller is or
//     refuses the stream (it is finished with the refusal).
//  1. Every message is checked before anything else sees it: against the
//     stream's rate limit (a token bucket; over it the stream ends with
//     RESOURCE_EXHAUSTED, logged once naming the host) and against
//     agent_message_limits.h (INVALID_ARGUMENT naming the field and size).
//     Log lines quote what the agent sent only through text::ForLog.
//  2. The first message must be Hello (else INVALID_ARGUMENT). The caller
//     was authenticated by the gate (auth::Guard): an enrolled agent's
//     Hello must name its certificate's host (else PERMISSION_DENIED) and
//     its labels are replaced by the ones bound at enrollment; only an
//     agent accepted without a certificate (--insecure-agents) is taken at
//     its word.
//  3. Welcome is queued first, then the Hello goes to the listener (the
//     fleet), which registers the session — replacing, and closing with
//     ABORTED, an older session of the same host — and may queue work.
//  4. Every later message goes to the listener as it arrives.
//  5. Every way out ends in Finish (a failed read means the agent hung up
//     or the call was cancelled). Once Finish and every read and write have
//     completed, the listener hears of it, the handle goes inert, and the
//     session deletes itself.
//
// Reactions never block: they parse, validate and hand messages to the
// listener, whose methods only update memory. Messages to the agent are
// queued under a mutex with one write in flight; the next starts when the
// previous completes. Reads, Write and Finish are started under that mutex,
// so no operation is ever started on a finished call.
#ifndef PYSERVICE_CONTROLLER_FLEET_AGENT_SESSION_H_
#define PYSERVICE_CONTROLLER_FLEET_AGENT_SESSION_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/server_context.h>
#include <grpcpp/support/async_stream.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/fleet/agent_connection.h"
#include "controller/auth/principal.h"
#include "controller/fleet/token_bucket.h"
#include "common/time/clock.h"
#include "pyservice/v1/agent.grpc.pb.h"
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

// Who makes agent call `method` ("Connect"), or the refusal. Called on a
// completion queue's thread: must not block.
using AgentGate = std::function<absl::StatusOr<auth::Principal>(
    const grpc::ServerContextBase& context, absl::string_view method)>;

using AgentStream = grpc::ServerAsyncReaderWriter<v1::ControllerMessage, v1::AgentMessage>;

// What every session of one agent service shares; outlives them all.
struct AgentSessionSource {
  // Asks gRPC for the next Connect call, delivered into `context` and
  // `stream`; completes with `tag` on `queue`.
  std::function<void(grpc::ServerContext* context, AgentStream* stream,
                     grpc::ServerCompletionQueue* queue, void* tag)>
      request_call;
  AgentGate gate;
  AgentSessionListener* listener = nullptr;
  AgentSessionOptions options;
  std::atomic<uint64_t> next_session_id{1};
  // Sessions alive, waiting ones included: the queues are shut down only
  // once it is back to 0 (an operation started on a shut-down queue
  // aborts the process).
  absl::Mutex mu;
  size_t alive ABSL_GUARDED_BY(mu) = 0;
};

class AgentSession final {
 public:
  // A new session waits for the next Connect call on `queue`.
  static void Await(AgentSessionSource& source, grpc::ServerCompletionQueue* queue);
  // Runs the reaction of a completed operation: `tag` is what a queue's
  // Next returned, `ok` its verdict.
  static void Dispatch(void* tag, bool ok);

  AgentSession(const AgentSession&) = delete;
  AgentSession& operator=(const AgentSession&) = delete;

 private:
  friend class AgentSessionHandle;
  // A completion queue tag: which reaction of which session.
  struct Operation {
    AgentSession* session;
    void (AgentSession::*reaction)(bool ok);
  };

  AgentSession(AgentSessionSource& source, grpc::ServerCompletionQueue* queue);
  ~AgentSession();

  void OnCallArrived(bool ok);
  void OnReadDone(bool ok);
  void OnWriteDone(bool ok);
  void OnFinishDone(bool ok);
  // Deletes the session once Finish and every read and write are done.
  void EndIfDone();

  // What `incoming_` (a message read) does: checks it and hands it on;
  // the status to end the stream with, if it must end.
  std::optional<grpc::Status> React();
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
  // The first status wins; Finish waits for the write in flight.
  void CloseLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartNextWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  AgentSessionSource& source_;
  grpc::ServerCompletionQueue* const queue_;
  grpc::ServerContext context_;
  AgentStream stream_{&context_};
  const std::shared_ptr<AgentSessionHandle> handle_;
  Operation on_call_arrived_{this, &AgentSession::OnCallArrived};
  Operation on_read_done_{this, &AgentSession::OnReadDone};
  Operation on_write_done_{this, &AgentSession::OnWriteDone};
  Operation on_finish_done_{this, &AgentSession::OnFinishDone};

  // Touched only by reactions, which run one at a time per session (its
  // queue has one thread).
  uint64_t id_ = 0;
  auth::Principal caller_;
  // The gate let the call in and the listener knows of the session.
  bool started_ = false;
  TokenBucket rate_;
  v1::AgentMessage incoming_;
  std::string host_;
  bool hello_accepted_ = false;

  absl::Mutex mu_;
  bool read_pending_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<v1::ControllerMessage> outbox_ ABSL_GUARDED_BY(mu_);
  // The message being written; gRPC reads it until OnWriteDone.
  v1::ControllerMessage writing_ ABSL_GUARDED_BY(mu_);
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  // Set by the first Close; Finish is called once no write is in flight.
  std::optional<grpc::Status> finish_status_ ABSL_GUARDED_BY(mu_);
  bool finish_called_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_done_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_AGENT_SESSION_H_
