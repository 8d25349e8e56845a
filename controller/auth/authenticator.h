// Turns what a call carries into a Principal, the same way for every RPC of
// both services. In order:
//  1. a bearer token (metadata "authorization: Bearer pst_…") is an
//     operator's, checked against the registry; a bad one is refused even
//     when something else would have authenticated the call;
//  2. a client certificate must be an agent certificate from the
//     controller's CA that the store lists and has not revoked;
//  3. an admin-socket peer whose uid is 0 (or the controller's own) is a
//     local admin;
//  4. nothing: anonymous (which may only Enroll, or Connect with
//     --insecure-agents).
// UNAUTHENTICATED, saying what was wrong with it, for a credential that
// does not check out. Reads memory only; never blocks on the store.
#ifndef PYSERVICE_CONTROLLER_AUTH_AUTHENTICATOR_H_
#define PYSERVICE_CONTROLLER_AUTH_AUTHENTICATOR_H_

#include <sys/types.h>

#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"
#include "controller/auth/access_registry.h"
#include "controller/auth/local_peers.h"
#include "controller/auth/principal.h"

namespace pyservice::controller::auth {

class Authenticator {
 public:
  // Both must outlive the authenticator. `controller_uid` is treated like
  // root on the admin socket (the controller may run as its own user).
  Authenticator(const AccessRegistry& registry, const LocalPeers& local_peers,
                uid_t controller_uid)
      : registry_(registry), local_peers_(local_peers), controller_uid_(controller_uid) {}

  absl::StatusOr<Principal> Authenticate(const grpc::ServerContextBase& context) const;

 private:
  const AccessRegistry& registry_;
  const LocalPeers& local_peers_;
  const uid_t controller_uid_;
};

}  // namespace pyservice::controller::auth

#endif  // PYSERVICE_CONTROLLER_AUTH_AUTHENTICATOR_H_
