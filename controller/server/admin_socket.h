// The admin socket: a Unix socket for operators on the controller's own
// machine, where the kernel vouches for the caller. Created 0600 (or 0660
// with a group), it accepts each connection itself, records the peer's
// SO_PEERCRED in LocalPeers and only then gives the connection to the gRPC
// server as a plaintext channel. Root (and the controller's own user) is
// an admin there without a token (authenticator.h); other users who may
// open the socket bring a token like anywhere else.
//
// Why not a --listen unix: address: gRPC does not tell a call which local
// user is on the other end, and TLS listeners cannot be given accepted
// connections; this path is the one where the kernel's word reaches the
// authenticator.
#ifndef PYSERVICE_CONTROLLER_SERVER_ADMIN_SOCKET_H_
#define PYSERVICE_CONTROLLER_SERVER_ADMIN_SOCKET_H_

#include <memory>
#include <string>
#include <thread>

#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "controller/auth/local_peers.h"

namespace pyservice::controller {

class AdminSocket {
 public:
  // Binds `path` (an absolute path; a stale socket there is replaced,
  // anything else is an error) with mode 0600, or 0660 and group `group`
  // when given, and serves its connections on `server` (started; must
  // outlive this object) until Stop(). FAILED_PRECONDITION naming the path
  // or group on failure.
  static absl::StatusOr<std::unique_ptr<AdminSocket>> Start(const std::string& path,
                                                            const std::string& group,
                                                            grpc::Server& server,
                                                            auth::LocalPeers& peers);
  AdminSocket(const AdminSocket&) = delete;
  AdminSocket& operator=(const AdminSocket&) = delete;
  ~AdminSocket();

  // Stops accepting and removes the socket file. Connections already
  // handed to gRPC end with the server.
  void Stop();

  const std::string& path() const { return path_; }

 private:
  AdminSocket(std::string path, int fd, grpc::Server& server, auth::LocalPeers& peers);
  void AcceptLoop();

  const std::string path_;
  const int fd_;
  grpc::Server& server_;
  auth::LocalPeers& peers_;
  std::thread thread_;
  bool stopped_ = false;
};

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_SERVER_ADMIN_SOCKET_H_
