#include "controller/etcd/ha_startup.h"

#include <memory>
#include <string>
#include <utility>

#include "controller/etcd/follower_service.h"
#include "spdlog/spdlog.h"

namespace pyservice::controller::etcd {

absl::StatusOr<std::unique_ptr<LeaderElection>> WaitForLeadership(
    EtcdClient& client, const LeaderElectionOptions& election_options,
    ControllerServerOptions follower_server, absl::Notification& shutdown) {
  FollowerService refusals;
  follower_server.services.clear();
  follower_server.generic_service = &refusals;
  follower_server.admin_socket.clear();
  // Shut down without grace once this controller wins: the won lease is
  // renewed only after this returns (KeepLeading), so a grace the length
  // of the lease's ttl let it expire and the new leader exit (lost
  // leadership) seconds after taking over. Whatever is in flight is a
  // refusal; its client tries the next address either way.
  follower_server.shutdown_grace = absl::ZeroDuration();
  // Started at the first sign that another leads, so a controller that
  // wins at once never binds its addresses twice.
  std::unique_ptr<ControllerServer> server;
  absl::Status server_error;
  auto election = std::make_unique<LeaderElection>(client, election_options);
  const absl::Status campaign = election->Campaign(
      [&](const std::string& leader) {
        refusals.SetLeader(leader);
        spdlog::info("following: the leader is {}", leader.empty() ? "not elected yet" : leader);
        if (server != nullptr || !server_error.ok()) return;
        absl::StatusOr<std::unique_ptr<ControllerServer>> started =
            ControllerServer::Start(follower_server);
        if (!started.ok()) {
          server_error = started.status();
          return;
        }
        server = *std::move(started);
        for (const ListenAddress& address : server->bound_addresses()) {
          // Not "listening on ADDR": scripts wait for that line to know
          // the controller serves (main.cc).
          spdlog::info("follower: refusing every call on {} until this controller leads",
                       address.ToString());
        }
      },
      [&] { return shutdown.HasBeenNotified() || !server_error.ok(); });
  if (server != nullptr) server->Shutdown();
  if (!server_error.ok()) return server_error;
  if (!campaign.ok()) return campaign;
  spdlog::info("leading: this controller is the leader ({})", election_options.identity);
  return election;
}

}  // namespace pyservice::controller::etcd
