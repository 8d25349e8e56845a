// How a controller on an etcd store starts (docs/DESIGN.md, "High
// availability"): it campaigns, and until it leads it serves only
// refusals naming the leader (follower_service.h) on its listeners.
#ifndef PYSERVICE_CONTROLLER_ETCD_HA_STARTUP_H_
#define PYSERVICE_CONTROLLER_ETCD_HA_STARTUP_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "controller/etcd/etcd_client.h"
#include "controller/etcd/leader_election.h"
#include "controller/server/controller_server.h"

namespace pyservice::controller::etcd {

// Blocks until this controller leads (returns the election, whose lease
// the caller keeps alive with KeepLeading) or `shutdown` is notified
// (CANCELLED). Meanwhile serves refusals with `follower_server` (its
// services and admin socket are ignored); that server is shut down before
// this returns, so the caller can bind the same addresses. Errors: the
// listeners cannot be bound.
absl::StatusOr<std::unique_ptr<LeaderElection>> WaitForLeadership(
    EtcdClient& client, const LeaderElectionOptions& election_options,
    ControllerServerOptions follower_server, absl::Notification& shutdown);

}  // namespace pyservice::controller::etcd

#endif  // PYSERVICE_CONTROLLER_ETCD_HA_STARTUP_H_
