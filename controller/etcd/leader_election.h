// Which of several controllers on one etcd store leads (docs/DESIGN.md,
// "High availability"). Only the leader runs the fleet reconciler and the
// rollout driver and serves agents and operators; the others wait.
//
// The leader is whoever created the key `PREFIX/leader`, attached to its
// lease, with a Txn "create if absent" (compare create_revision == 0). The
// leader renews the lease every ttl/3; when the leader dies, the lease
// expires after `ttl`, etcd deletes the key, and the next Campaign's Txn
// wins. The key's value is the leader's advertised address, which
// followers name in their refusals.
//
// Safety: the leader counts itself leader only while its last renewal was
// *sent* less than ttl/2 ago (the lease's clock in etcd started no earlier
// than that), so it gives up well before etcd could let another take over.
// Writes are fenced besides (EtcdStore::SetLeaderFence): a Txn of a
// controller whose key is gone fails.
#ifndef PYSERVICE_CONTROLLER_ETCD_LEADER_ELECTION_H_
#define PYSERVICE_CONTROLLER_ETCD_LEADER_ELECTION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "controller/etcd/etcd_client.h"

namespace pyservice::controller::etcd {

struct LeaderElectionOptions {
  // The key the leader holds, e.g. "/pyservice/leader".
  std::string key;
  // What followers tell clients: this controller's address.
  std::string identity;
  // The lease's time to live: how long a dead leader keeps its key.
  absl::Duration ttl = absl::Seconds(5);
  // How often a follower tries to take over.
  absl::Duration poll_interval = absl::Milliseconds(500);
};

// For what needs every controller stopped (the secrets key rotation):
// FAILED_PRECONDITION naming the leader when `key` exists, i.e. a
// controller leads, or one stopped less than its lease's ttl ago (a clean
// stop revokes the lease at once).
absl::Status CheckNoLeader(EtcdClient& client, const std::string& key);

class LeaderElection {
 public:
  LeaderElection(EtcdClient& client, LeaderElectionOptions options)
      : client_(client), options_(std::move(options)) {}
  LeaderElection(const LeaderElection&) = delete;
  LeaderElection& operator=(const LeaderElection&) = delete;
  // Stops renewing and revokes the lease (Resign).
  ~LeaderElection();

  // Blocks until this controller leads, or `stopped` says so (CANCELLED;
  // asked once per poll interval).
  // While another leads, `on_follower` is called with the leader's
  // identity each time it changes (also "" when the key is briefly
  // absent). Errors of etcd are retried, not returned: a controller waits
  // out an etcd outage.
  absl::Status Campaign(const std::function<void(const std::string& leader)>& on_follower,
                        const std::function<bool()>& stopped);

  // The leader key's create revision once Campaign returned OK: the fence.
  int64_t create_revision() const { return create_revision_; }

  // Renews the lease in a thread of its own; calls `on_lost` once (from
  // that thread) when leadership is lost: the lease is gone or no renewal
  // succeeded for ttl/2.
  void KeepLeading(std::function<void(const std::string& why)> on_lost);

  // Stops renewing and revokes the lease, so a follower takes over at once
  // (a clean stop). Idempotent.
  void Resign();

 private:
  EtcdClient& client_;
  const LeaderElectionOptions options_;
  int64_t lease_ = 0;
  int64_t create_revision_ = 0;
  absl::Notification stop_renewing_;
  std::thread renewer_;
  bool resigned_ = false;
};

}  // namespace pyservice::controller::etcd

#endif  // PYSERVICE_CONTROLLER_ETCD_LEADER_ELECTION_H_
