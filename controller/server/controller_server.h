// The controller's gRPC server: every listener, the registered services, and
// a graceful stop. Transport only; what the RPCs do lives in service/.
#ifndef PYSERVICE_CONTROLLER_SERVER_CONTROLLER_SERVER_H_
#define PYSERVICE_CONTROLLER_SERVER_CONTROLLER_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/impl/service_type.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <sys/types.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/auth/local_peers.h"
#include "controller/server/admin_socket.h"
#include "controller/server/completion_queue_service.h"
#include "common/net/listen_address.h"
#include "controller/server/transport_limits.h"

namespace pyservice::controller {

struct ControllerServerOptions {
  // Addresses in gRPC's forms ("127.0.0.1:7070", "[::]:0",
  // "unix:/run/pyservice/controller.sock"); at least one. Port 0 picks a free
  // port, reported by bound_addresses().
  std::vector<std::string> listen;
  // Services to serve, sync or callback. Not owned; they must outlive the
  // server.
  std::vector<grpc::Service*> services;
  // Services served on completion queues of their own (async API), started
  // with the server and stopped after it. Not owned; they must outlive the
  // server.
  std::vector<CompletionQueueService*> queue_services;
  // Answers every method no service above has (a follower's refusal,
  // controller/etcd/follower_service.h). Not owned; may be null.
  grpc::CallbackGenericService* generic_service = nullptr;
  // The transport security of every listener (Unix sockets included), e.g.
  // from tls::MakeServerCredentials(). Null: plaintext, which Start allows
  // only where tls::CheckPlaintextAllowed(address, insecure) does (unix:
  // sockets, loopback addresses, anything with `insecure`).
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // The operator's --insecure: plaintext on any address, with a warning.
  bool insecure = false;
  // The admin socket (admin_socket.h): a path, "" for none, and the group
  // that may open it ("" for root only). Its peers are recorded in
  // `local_peers`, which must outlive the server.
  std::string admin_socket;
  std::string admin_socket_group;
  auth::LocalPeers* local_peers = nullptr;
  // What one connection may cost (transport_limits.h), on every listener.
  TransportLimits limits;
  // How long Shutdown() lets in-flight calls finish before cancelling them.
  absl::Duration shutdown_grace = absl::Seconds(5);
};

class ControllerServer {
 public:
  // INVALID_ARGUMENT when plaintext is not allowed on an address (see
  // ControllerServerOptions::credentials). Prepares Unix socket paths (parent directory, stale socket file), binds
  // every address and starts serving. Errors name the address:
  // INVALID_ARGUMENT for a malformed one, FAILED_PRECONDITION when one cannot
  // be bound ("cannot listen on 127.0.0.1:7070: Address already in use").
  // Nothing is left listening on error.
  static absl::StatusOr<std::unique_ptr<ControllerServer>> Start(
      const ControllerServerOptions& options);

  ControllerServer(const ControllerServer&) = delete;
  ControllerServer& operator=(const ControllerServer&) = delete;
  // Shuts down if Shutdown() was not called.
  ~ControllerServer();

  // What is actually listening, in the order of options.listen, in the same
  // forms with the real port: "127.0.0.1:41234", "unix:/tmp/c.sock".
  const std::vector<ListenAddress>& bound_addresses() const {
    return bound_addresses_;
  }
  // The real ports of the TCP listeners, in the order of options.listen.
  std::vector<int> tcp_ports() const;

  // Stops accepting calls, waits up to the grace period for in-flight calls,
  // cancels the rest, and removes the Unix socket files this server created.
  // Safe to call from any thread (but not from a signal handler: it blocks
  // and takes locks); later calls return once the first one has finished.
  void Shutdown();

 private:
  // A socket file we created, remembered by inode so that Shutdown never
  // removes a file some later server put at the same path.
  struct OwnedSocket {
    std::string path;
    dev_t device = 0;
    ino_t inode = 0;
  };

  ControllerServer(std::unique_ptr<grpc::Server> server,
                   std::vector<CompletionQueueService*> queue_services,
                   std::vector<ListenAddress> bound_addresses,
                   std::vector<OwnedSocket> sockets, absl::Duration grace);

  const std::unique_ptr<grpc::Server> server_;
  const std::vector<CompletionQueueService*> queue_services_;
  // Set once by Start, after the server runs; stopped before it.
  std::unique_ptr<AdminSocket> admin_socket_;
  const std::vector<ListenAddress> bound_addresses_;
  const std::vector<OwnedSocket> sockets_;
  const absl::Duration grace_;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_SERVER_CONTROLLER_SERVER_H_
