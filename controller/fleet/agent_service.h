// AgentService (agent.proto) on the gRPC callback API: every Connect call
// becomes an AgentSession reactor reporting to the fleet. Served on the same
// listeners as the operator API.
#ifndef PYSERVICE_CONTROLLER_FLEET_AGENT_SERVICE_H_
#define PYSERVICE_CONTROLLER_FLEET_AGENT_SERVICE_H_

#include <atomic>
#include <cstdint>

#include "controller/fleet/agent_session.h"
#include "controller/fleet/fleet.h"
#include "controller/fleet/peer_identity.h"
#include "pyservice/v1/agent.grpc.pb.h"

namespace pyservice::controller::fleet {

class AgentServiceImpl final : public v1::AgentService::CallbackService {
 public:
  // `fleet` must outlive the service and every session (i.e. the server).
  // `identity` names the authenticated peer (peer_identity.h); without TLS
  // use NoPeerIdentity().
  AgentServiceImpl(Fleet& fleet, PeerIdentity identity)
      : fleet_(fleet), identity_(std::move(identity)) {}

  grpc::ServerBidiReactor<v1::AgentMessage, v1::ControllerMessage>* Connect(
      grpc::CallbackServerContext* context) override;

 private:
  Fleet& fleet_;
  const PeerIdentity identity_;
  std::atomic<uint64_t> next_session_id_{1};
};

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_AGENT_SERVICE_H_
