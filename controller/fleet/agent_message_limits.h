// What one agent message may make the controller hold, keep and log: every
// string and list of every AgentMessage kind against its bound in
// common/api/agent_message_limits.h, checked in one place (AgentSession,
// before anything else sees the message).
//
// Errors are INVALID_ARGUMENT naming the field and its size, never its
// value ("hello.host: 4194304 bytes, the limit is 253"); a value of the
// right size but the wrong characters is quoted through text::ForLog.
#ifndef PYSERVICE_CONTROLLER_FLEET_AGENT_MESSAGE_LIMITS_H_
#define PYSERVICE_CONTROLLER_FLEET_AGENT_MESSAGE_LIMITS_H_

#include <cstddef>

#include "absl/status/status.h"
#include "common/api/agent_message_limits.h"
#include "pyservice/v1/agent.pb.h"

namespace pyservice::controller::fleet {

// OK when every field of `message` is within AgentMessageLimits (and a
// Hello's host name has a host name's syntax).
absl::Status ValidateAgentMessage(const v1::AgentMessage& message);

// The Hello's part of the above. Exposed for tests.
absl::Status ValidateHello(const v1::Hello& hello);

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_AGENT_MESSAGE_LIMITS_H_
