// Where the daemon's parts put messages for the controller (progress,
// results, health). The connection implements it: a message goes out on the
// stream that is up, and is dropped while none is — a new stream starts
// with a Hello that carries the current state of every app, so nothing a
// dropped message said is lost for good.
#ifndef PYSERVICE_AGENT_DAEMON_MESSAGE_SINK_H_
#define PYSERVICE_AGENT_DAEMON_MESSAGE_SINK_H_

#include "pyservice/v1/agent.pb.h"

namespace pyservice::agent {

class MessageSink {
 public:
  virtual ~MessageSink() = default;
  // Queues `message`; never blocks, safe from any thread. Messages sent
  // from one thread go out in order.
  virtual void Send(v1::AgentMessage message) = 0;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_DAEMON_MESSAGE_SINK_H_
