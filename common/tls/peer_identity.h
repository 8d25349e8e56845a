// Who is calling: the name in the client's verified certificate. With mutual
// TLS this is a host's identity (an agent cannot claim another host's name)
// or an operator's (pyctl).
#ifndef PYSERVICE_COMMON_TLS_PEER_IDENTITY_H_
#define PYSERVICE_COMMON_TLS_PEER_IDENTITY_H_

#include <string>

#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_context.h>

namespace pyservice::tls {

// The client certificate's name: its first DNS subjectAltName, else its
// subject's common name. Empty when the peer presented no certificate, the
// connection is plaintext, or the transport is not TLS.
//
// Trusts gRPC's verification: with credentials from MakeServerCredentials()
// a certificate reaches the auth context only after it has been verified
// against the client CA. (Credentials that request a certificate without
// verifying it would make this name a claim, not an identity.)
std::string PeerIdentity(const grpc::AuthContext& auth_context);
std::string PeerIdentity(const grpc::ServerContext& context);
std::string PeerIdentity(const grpc::CallbackServerContext& context);

}  // namespace pyservice::tls

#endif  // PYSERVICE_COMMON_TLS_PEER_IDENTITY_H_
