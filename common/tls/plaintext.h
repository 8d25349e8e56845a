// Plaintext gRPC, allowed in three cases only: on a `unix:` socket, which
// file permissions protect and which never leaves the host; on a loopback
// TCP address (127.0.0.0/8, [::1]), which never leaves the host either (the
// default controller address 127.0.0.1:7070 is one); or when the operator
// passed an explicit --insecure flag, which logs a warning. Everything else
// must use the TLS credentials in credentials.h.
#ifndef PYSERVICE_COMMON_TLS_PLAINTEXT_H_
#define PYSERVICE_COMMON_TLS_PLAINTEXT_H_

#include <memory>

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pyservice::tls {

// Whether `address` (a listen address or a channel target, in gRPC's forms)
// is a Unix socket path: "unix:/path", "unix:relative", "unix:///path".
// "unix-abstract:" is not: an abstract socket has no file permissions, so any
// process in the network namespace can connect to it.
bool IsUnixAddress(absl::string_view address);

// Whether `address` is a TCP address on a loopback IP literal: 127.0.0.0/8
// or ::1, as "127.0.0.1:7070", "[::1]:7070", optionally with gRPC's "dns:///",
// "ipv4:" or "ipv6:" scheme. Names ("localhost") are not: what they resolve
// to is not up to us. Traffic to these addresses never leaves the host, like
// a unix: socket's (though any local user may connect: same-host only is
// what it promises, not who).
bool IsLoopbackAddress(absl::string_view address);

// OK when plaintext may be used on `address`: a Unix socket, a loopback
// address (IsLoopbackAddress), or anything when
// `insecure_flag` (the operator's --insecure) is set. Otherwise
// INVALID_ARGUMENT naming the address and the three ways out (configure TLS,
// use a unix: socket, or pass --insecure).
absl::Status CheckPlaintextAllowed(absl::string_view address,
                                   bool insecure_flag);

// Plaintext server credentials for listening on `listen_address`, after
// CheckPlaintextAllowed(); logs a warning when only `insecure_flag` allows
// them (a TCP listener anyone on the network can read and forge).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>>
MakeInsecureServerCredentials(absl::string_view listen_address,
                              bool insecure_flag);

// Plaintext channel credentials for dialling `target`; same rules and
// warning as MakeInsecureServerCredentials().
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeInsecureChannelCredentials(absl::string_view target, bool insecure_flag);

}  // namespace pyservice::tls

#endif  // PYSERVICE_COMMON_TLS_PLAINTEXT_H_
