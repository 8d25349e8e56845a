#include "controller/auth/local_peers.h"

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/numbers.h"

namespace pyservice::controller::auth {

void LocalPeers::Remember(int fd, const LocalPeer& peer) {
  absl::MutexLock lock(&mu_);
  peers_[fd] = peer;
}

std::optional<LocalPeer> LocalPeers::Find(absl::string_view peer) const {
  int fd = -1;
  if (!absl::ConsumePrefix(&peer, "fd:") || !absl::SimpleAtoi(peer, &fd)) return std::nullopt;
  absl::MutexLock lock(&mu_);
  auto it = peers_.find(fd);
  if (it == peers_.end()) return std::nullopt;
  return it->second;
}

}  // namespace pyservice::controller::auth
