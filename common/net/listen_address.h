// The addresses the controller listens on, in gRPC's own forms
// (INTERFACES.md): `HOST:PORT` or `unix:/absolute/path`.
//
// Parsed up front so a typo fails with a message naming the flag's value
// instead of an opaque bind error from inside gRPC, and so the server can
// prepare a Unix socket's directory and report the port a TCP listener got.
#ifndef PYSERVICE_COMMON_NET_LISTEN_ADDRESS_H_
#define PYSERVICE_COMMON_NET_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pyservice {

struct ListenAddress {
  enum class Kind { kTcp, kUnix };

  Kind kind = Kind::kTcp;
  // kTcp: the host as written, IPv6 brackets kept ("[::1]"); empty means
  // every interface.
  std::string host;
  // kTcp: 0..65535; 0 lets the kernel choose.
  int port = 0;
  // kUnix: the absolute socket path.
  std::string path;

  // The gRPC form: "HOST:PORT" or "unix:/path".
  std::string ToString() const;
  // The same address with another port (the one a port-0 listener got).
  ListenAddress WithPort(int new_port) const;
};

// INVALID_ARGUMENT (naming `text` and the accepted forms) unless `text` is
// `HOST:PORT` with a numeric port, `[IPV6]:PORT`, or `unix:/absolute/path`.
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text);

// Makes a Unix socket path bindable: creates the parent directory (0755) and
// removes a stale socket file left by a process that died. Refuses to touch
// a path that is not a socket, or a socket some live server still accepts on
// (gRPC would silently unlink and steal it). No-op for TCP.
absl::Status PrepareUnixSocketPath(const ListenAddress& address);

// After a failed bind, a best-effort explanation ("Address already in use")
// found by binding the address once more ourselves: gRPC's builder reports
// only that binding failed, and logs the reason in its own format.
std::string DiagnoseBindFailure(const ListenAddress& address);

}  // namespace pyservice

#endif  // PYSERVICE_COMMON_NET_LISTEN_ADDRESS_H_
