// The seam for host identity from transport security. With mutual TLS a
// host's name is its client certificate's, and an agent must not claim
// another; without it, the name in Hello is taken as given.
#ifndef PYSERVICE_CONTROLLER_FLEET_PEER_IDENTITY_H_
#define PYSERVICE_CONTROLLER_FLEET_PEER_IDENTITY_H_

#include <functional>
#include <string>

#include <grpcpp/server_context.h>

namespace pyservice::controller::fleet {

// Returns the authenticated host name of the peer of `context` (e.g. from
// context.auth_context(): the client certificate's subject alternative name
// or common name), or "" when the peer is not authenticated (plaintext, TLS
// without client certificates). Called once per agent stream, from a gRPC
// reaction: it must not block.
using PeerIdentity = std::function<std::string(const grpc::CallbackServerContext& context)>;

// No transport identity: every peer is unauthenticated.
inline PeerIdentity NoPeerIdentity() {
  return [](const grpc::CallbackServerContext&) { return std::string(); };
}

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_PEER_IDENTITY_H_
