// Transport security for every gRPC connection: TLS, and mutual TLS where
// the controller asks agents and pyctl for a client certificate
// (docs/DESIGN.md, "Transport security"). deploy/tls/make-test-ca.sh makes a
// CA and certificates to try it with.
//
// Credentials are built from PEM files that are read and checked here, so a
// configuration mistake fails at startup naming the file. Plaintext is not
// reachable from this header: it lives in plaintext.h, behind functions whose
// names say so.
#ifndef PYSERVICE_COMMON_TLS_CREDENTIALS_H_
#define PYSERVICE_COMMON_TLS_CREDENTIALS_H_

#include <memory>
#include <string>

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/status/statusor.h"

namespace pyservice::tls {

struct TlsServerOptions {
  // The server's certificate (chain, leaf first) and its unencrypted private
  // key, PEM. Required.
  std::string cert_file;
  std::string key_file;
  // CA certificates (PEM) that client certificates must chain to. Empty: no
  // client certificates are asked for, and PeerIdentity() is always empty.
  std::string client_ca_file;
  // With client_ca_file: refuse clients without a certificate (mutual TLS).
  // When false, a certificate is asked for and verified if one is sent, and
  // clients without one are let in with no identity.
  bool require_client_cert = false;
  // Instead of the two above: ask every client for a certificate, let the
  // handshake pass whatever is sent (the client still proves it holds the
  // key), and leave the verification to the application, which finds the
  // certificate in the auth context ("x509_pem_cert"). The controller does
  // this so that a certificate from the wrong CA, an expired or a revoked
  // one is refused with a reason (UNAUTHENTICATED) instead of a failed
  // handshake. `client_ca_pem` is only advertised to clients. PeerIdentity()
  // must not be used with such credentials: its name is unverified.
  bool application_verifies_client_certs = false;
  std::string client_ca_pem;
};

struct TlsClientOptions {
  // CA certificates (PEM) the server's certificate must chain to. Required:
  // the fleet runs on its own CA, never on the system's trust store.
  std::string ca_file;
  // The client certificate and its unencrypted key, PEM; both or neither.
  // Empty: no client certificate (plain TLS).
  std::string cert_file;
  std::string key_file;
  // The name to verify the server's certificate against instead of the
  // target's host, e.g. when dialling an IP the certificate does not list.
  // Empty: the target's host. Carried by channel arguments, not by the
  // credentials: see ApplyTlsChannelArguments().
  std::string server_name_override;
};

// Server credentials from `options`. INVALID_ARGUMENT for a missing required
// field, require_client_cert without client_ca_file, a file without the
// expected PEM content, or a key that does not match the certificate;
// NOT_FOUND / PERMISSION_DENIED for a file that cannot be read. Every message
// names the file (path and role), never its content.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsServerOptions& options);

// Channel credentials from `options`, with the same checks and errors as
// MakeServerCredentials().
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsClientOptions& options);

// Adds to `args` what the credentials cannot carry: today the
// server_name_override. Call it for every channel made with the credentials
// above (grpc::CreateCustomChannel(target, credentials, args)).
void ApplyTlsChannelArguments(const TlsClientOptions& options,
                              grpc::ChannelArguments* args);

}  // namespace pyservice::tls

#endif  // PYSERVICE_COMMON_TLS_CREDENTIALS_H_
