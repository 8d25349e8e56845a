// How big each field of an AgentMessage may be: part of the agent stream's
// contract. The controller refuses a message over any bound (it ends the
// stream: controller/fleet/agent_message_limits.h); the agent cuts its free
// text (progress and health messages, a failed step's error) to fit before
// sending (FitAgentMessage), so a long error never costs it its stream.
// Generous for real hosts; they stop a broken or hostile agent from filling
// the controller's memory, store or log.
#ifndef PYSERVICE_COMMON_API_AGENT_MESSAGE_LIMITS_H_
#define PYSERVICE_COMMON_API_AGENT_MESSAGE_LIMITS_H_

#include <cstddef>

#include "pyservice/v1/agent.pb.h"

namespace pyservice {

struct AgentMessageLimits {
  static constexpr size_t kHostName = 253;  // a DNS name
  static constexpr size_t kLabels = 64;
  static constexpr size_t kLabelKey = 128;
  static constexpr size_t kLabelValue = 256;
  static constexpr size_t kAgentVersion = 128;
  static constexpr size_t kApps = 1000;        // apps in one Hello
  static constexpr size_t kAppName = 128;      // spec names are at most 63
  static constexpr size_t kTag = 256;
  static constexpr size_t kCommit = 128;       // a SHA-1 or SHA-256 in hex
  static constexpr size_t kSpecDigest = 128;
  static constexpr size_t kUnits = 256;        // units of one app
  static constexpr size_t kUnitName = 256;
  static constexpr size_t kUnitState = 64;     // systemd's ActiveState/SubState
  static constexpr size_t kDrift = 1024;       // drift entries of one app
  static constexpr size_t kDriftPath = 4096;   // PATH_MAX
  static constexpr size_t kDriftReason = 4352; // "points to <a path>, not the live release X"
  static constexpr size_t kStepName = 64;
  static constexpr size_t kMessage = 4096;     // health and progress messages
  static constexpr size_t kError = 16 * 1024;  // a failed step's error
  // One LogChunk: entries, each entry's message (an app's log line; longer
  // ones are cut), and the tail's error. 200 x 4 KiB stays under 1 MiB.
  static constexpr size_t kLogEntries = 200;
  static constexpr size_t kLogMessage = 4096;
};

// Cuts the free text of `message` (progress and health messages, a result's
// error, log lines and a log tail's error) to its limit, on a UTF-8 character boundary, ending it with
// " [… N bytes cut]". Names and identifiers are left alone: they are
// bounded where they are made (spec validation, the host's name).
void FitAgentMessage(v1::AgentMessage& message);

}  // namespace pyservice

#endif  // PYSERVICE_COMMON_API_AGENT_MESSAGE_LIMITS_H_
