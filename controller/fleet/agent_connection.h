// The fleet's handle on one agent's stream: what the registry keeps per
// connected host and the reconciler sends work through. The real one is an
// AgentSession's handle (agent_session.h); tests use a recording fake
// (tests/testing/fake_agent_connection.h).
#ifndef PYSERVICE_CONTROLLER_FLEET_AGENT_CONNECTION_H_
#define PYSERVICE_CONTROLLER_FLEET_AGENT_CONNECTION_H_

#include <grpcpp/support/status.h>

#include "pyservice/v1/agent.pb.h"

namespace pyservice::controller::fleet {

// Contract: safe from any thread, never blocks (messages are queued), and
// stays valid after the stream is gone (calls then do nothing).
class AgentConnection {
 public:
  virtual ~AgentConnection() = default;
  // Queues `message` for the agent; dropped once the stream is closing.
  virtual void Send(v1::ControllerMessage message) = 0;
  // Ends the stream with `status`, dropping messages not yet written. The
  // first status wins.
  virtual void Close(const grpc::Status& status) = 0;
};

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_AGENT_CONNECTION_H_
