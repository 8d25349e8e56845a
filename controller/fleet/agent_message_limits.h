// What one agent message may make the controller hold, keep and log: every
// string and list of every AgentMessage kind against an explicit bound,
// checked in one place (AgentSession, before anything else sees the
// message). Generous for real hosts; they stop a broken or hostile agent
// from filling memory, the store or the log.
//
// Errors are INVALID_ARGUMENT naming the field and its size, never its
// value ("hello.host: 4194304 bytes, the limit is 253"); a value of the
// right size but the wrong characters is quoted through text::ForLog.
#ifndef PYSERVICE_CONTROLLER_FLEET_AGENT_MESSAGE_LIMITS_H_
#define PYSERVICE_CONTROLLER_FLEET_AGENT_MESSAGE_LIMITS_H_

#include <cstddef>

#include "absl/status/status.h"
#include "pyservice/v1/agent.pb.h"

namespace pyservice::controller::fleet {

struct AgentMessageLimits {
  static constexpr size_t kHostName = 253;  // a DNS name
  static constexpr size_t kLabels = 64;
  static constexpr size_t kLabelKey = 128;
  static constexpr size_t kLabelValue = 256;
  static constexpr size_t kAgentVersion = 128;
  static constexpr size_t kApps = 1000;          // apps in one Hello
  static constexpr size_t kAppName = 128;        // spec names are at most 63
  static constexpr size_t kTag = 256;
  static constexpr size_t kCommit = 128;         // a SHA-1 or SHA-256 in hex
  static constexpr size_t kSpecDigest = 128;
  static constexpr size_t kUnits = 256;          // units of one app
  static constexpr size_t kUnitName = 256;
  static constexpr size_t kUnitState = 64;       // systemd's ActiveState/SubState
  static constexpr size_t kStepName = 64;
  static constexpr size_t kMessage = 4096;       // health and progress messages
  static constexpr size_t kError = 16 * 1024;    // a failed step's error
};

// OK when every field of `message` is within AgentMessageLimits (and a
// Hello's host name has a host name's syntax).
absl::Status ValidateAgentMessage(const v1::AgentMessage& message);

// The Hello's part of the above. Exposed for tests.
absl::Status ValidateHello(const v1::Hello& hello);

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_AGENT_MESSAGE_LIMITS_H_
