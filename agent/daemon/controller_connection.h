// The agent's link to the controller: dials, runs one ControllerSession at a
// time, and when a stream ends or cannot be opened, waits (backoff.h) and
// dials again — forever, until Stop(). Nothing on the host depends on the
// link: apps keep running as last deployed while the controller is away.
//
// Each attempt uses a fresh channel. A gRPC channel has its own reconnect
// backoff (up to 2 minutes) and fails calls fast while it backs off, which
// would stack a second, hidden delay on ours; with a new channel per
// attempt, ours is the only one.
//
// Logs: each failed attempt once — a warning for the first of a series, at
// info level after that (with the attempt count and the wait), and the
// reconnection when it succeeds.
#ifndef PYSERVICE_AGENT_DAEMON_CONTROLLER_CONNECTION_H_
#define PYSERVICE_AGENT_DAEMON_CONTROLLER_CONNECTION_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "agent/daemon/backoff.h"
#include "agent/daemon/controller_session.h"
#include "agent/daemon/message_sink.h"
#include "common/time/clock.h"
#include "grpcpp/security/credentials.h"

namespace pyservice::agent {

struct ConnectionOptions {
  // `HOST:PORT` or `unix:/absolute/path`, or several of them separated by
  // commas (controllers on one etcd store, one leading): each attempt
  // goes to the next.
  std::string address;
  BackoffPolicy backoff;
  ControllerSession::Options session;
  // Asked for the channel credentials before every attempt, so a client
  // certificate renewed while the agent runs (agent/enroll/) is used from
  // the next connection on. Empty, or returning null: plaintext (insecure)
  // credentials; the caller has checked they are allowed
  // (tls::CheckPlaintextAllowed).
  std::function<std::shared_ptr<grpc::ChannelCredentials>()> credentials;
  // With TLS credentials: the name to verify the controller's certificate
  // against instead of the address's host. Empty: the address's host.
  std::string tls_server_name;
  // Keepalive pings (AgentConfig::keepalive_time): a controller that
  // vanished without closing the connection is noticed within
  // keepalive_time + keepalive_timeout, not when TCP gives up (~15 min).
  absl::Duration keepalive_time = absl::Minutes(1);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // The largest message accepted from the controller: a DeployRequest
  // carries an app spec (from at most 1 MiB of app.yaml). A bigger one ends
  // the stream with RESOURCE_EXHAUSTED, logged as an error.
  int max_receive_message_bytes = 4 << 20;
  // Told true when a stream is welcomed and false when a welcomed stream
  // ends (metrics); empty: nobody is told. Called from the session's threads.
  std::function<void(bool connected)> on_link_change;
};

class ControllerConnection final : public MessageSink, private ControllerSession::Handler {
 public:
  // `handler` gets the sessions' calls; `uniform` and `clock` drive the
  // backoff (backoff.h).
  ControllerConnection(ConnectionOptions options, ControllerSession::Handler& handler,
                       std::function<double()> uniform, const Clock& clock);

  // Dials and re-dials until Stop(). Blocks.
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the current stream and makes Run return. Any thread; idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // On the stream that is up (Welcome or not); dropped while none is.
  void Send(v1::AgentMessage message) override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // A new channel with the credentials of the moment.
  std::shared_ptr<grpc::Channel> Dial(const std::string& address) const;
  v1::Hello MakeHello() override { return handler_.MakeHello(); }
  void OnWelcome(const v1::Welcome& welcome) override;
  void OnWork(const v1::ControllerMessage& message) override { handler_.OnWork(message); }

  const ConnectionOptions options_;
  ControllerSession::Handler& handler_;
  const std::vector<std::string> addresses_;
  // Used by Run's thread only.
  size_t next_address_ = 0;
  Backoff backoff_;
  int failures_in_row_ = 0;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<ControllerSession> current_ ABSL_GUARDED_BY(mu_);
};

// INVALID_ARGUMENT unless `address` is `HOST:PORT` (numeric port 1-65535,
// IPv6 hosts in brackets) or `unix:/absolute/path`.
absl::Status ValidateControllerAddress(absl::string_view address);
// The same for each of a comma-separated list (--controller A,B,C).
absl::Status ValidateControllerAddresses(absl::string_view addresses);
// The addresses of a comma-separated list, in order.
std::vector<std::string> ControllerAddresses(absl::string_view addresses);

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_DAEMON_CONTROLLER_CONNECTION_H_
