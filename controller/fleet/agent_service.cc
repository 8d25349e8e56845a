#include "controller/fleet/agent_service.h"

namespace pyservice::controller::fleet {

grpc::ServerBidiReactor<v1::AgentMessage, v1::ControllerMessage>* AgentServiceImpl::Connect(
    grpc::CallbackServerContext* context) {
  // Deleted by itself in OnDone.
  return new AgentSession(context, fleet_, identity_, next_session_id_++,
                          fleet_.heartbeat_interval());
}

}  // namespace pyservice::controller::fleet
