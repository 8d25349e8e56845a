// Who is on the other end of each admin-socket connection, as the kernel
// says (SO_PEERCRED), keyed the way gRPC names those connections.
//
// The admin socket (controller/server/admin_socket.h) accepts connections
// itself, reads each one's peer credentials, records them here and only
// then hands the descriptor to gRPC, which names such a connection's peer
// "fd:N". A descriptor number is reused only after gRPC closed it, which it
// does once every call on the connection is over, and the new connection's
// entry is recorded before gRPC sees it: a lookup during a call always
// finds that call's connection.
#ifndef PYSERVICE_CONTROLLER_AUTH_LOCAL_PEERS_H_
#define PYSERVICE_CONTROLLER_AUTH_LOCAL_PEERS_H_

#include <sys/types.h>

#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace pyservice::controller::auth {

struct LocalPeer {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

class LocalPeers {
 public:
  void Remember(int fd, const LocalPeer& peer);
  // The peer of gRPC peer string `peer` ("fd:7"); nullopt for any other
  // connection (TCP, the --listen Unix sockets).
  std::optional<LocalPeer> Find(absl::string_view peer) const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<int, LocalPeer> peers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pyservice::controller::auth

#endif  // PYSERVICE_CONTROLLER_AUTH_LOCAL_PEERS_H_
