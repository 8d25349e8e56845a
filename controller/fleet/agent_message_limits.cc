#include "controller/fleet/agent_message_limits.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status/status_macros.h"
#include "common/text/log_text.h"

namespace pyservice::controller::fleet {
namespace {

using Limits = AgentMessageLimits;

absl::Status TooLong(absl::string_view field, size_t size, size_t limit) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": ", size, " bytes, the limit is ", limit));
}

absl::Status CheckSize(absl::string_view field, absl::string_view value, size_t limit) {
  return value.size() > limit ? TooLong(field, value.size(), limit) : absl::OkStatus();
}

absl::Status CheckCount(absl::string_view field, int count, size_t limit) {
  if (static_cast<size_t>(count) <= limit) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": ", count, " entries, the limit is ", limit));
}

bool IsHostNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

bool HasControlChar(absl::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

absl::Status CheckHostName(absl::string_view field, absl::string_view host) {
  if (host.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": empty"));
  RETURN_IF_ERROR(CheckSize(field, host, Limits::kHostName));
  for (char c : host) {
    if (!IsHostNameChar(c)) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": \"", text::ForLog(host), "\" must be letters, digits, '-', '.' or '_'"));
    }
  }
  if (!absl::ascii_isalnum(static_cast<unsigned char>(host.front()))) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", text::ForLog(host), "\" must start with a letter or digit"));
  }
  return absl::OkStatus();
}

absl::Status CheckAppName(absl::string_view field, absl::string_view app) {
  if (app.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": empty"));
  return CheckSize(field, app, Limits::kAppName);
}

absl::Status CheckHealth(const std::string& field, const v1::AppHealth& health) {
  RETURN_IF_ERROR(CheckAppName(field + ".app", health.app()));
  RETURN_IF_ERROR(CheckSize(field + ".tag", health.tag(), Limits::kTag));
  RETURN_IF_ERROR(CheckSize(field + ".commit", health.commit(), Limits::kCommit));
  RETURN_IF_ERROR(CheckSize(field + ".spec_digest", health.spec_digest(), Limits::kSpecDigest));
  RETURN_IF_ERROR(CheckSize(field + ".message", health.message(), Limits::kMessage));
  RETURN_IF_ERROR(CheckCount(field + ".units", health.units_size(), Limits::kUnits));
  for (int i = 0; i < health.units_size(); ++i) {
    const v1::UnitHealth& unit = health.units(i);
    const std::string at = absl::StrCat(field, ".units[", i, "]");
    RETURN_IF_ERROR(CheckSize(at + ".unit", unit.unit(), Limits::kUnitName));
    RETURN_IF_ERROR(CheckSize(at + ".active_state", unit.active_state(), Limits::kUnitState));
    RETURN_IF_ERROR(CheckSize(at + ".sub_state", unit.sub_state(), Limits::kUnitState));
    RETURN_IF_ERROR(CheckSize(at + ".result", unit.result(), Limits::kUnitState));
  }
  RETURN_IF_ERROR(CheckCount(field + ".drift", health.drift_size(), Limits::kDrift));
  for (int i = 0; i < health.drift_size(); ++i) {
    const v1::Drift& drift = health.drift(i);
    const std::string at = absl::StrCat(field, ".drift[", i, "]");
    RETURN_IF_ERROR(CheckSize(at + ".path", drift.path(), Limits::kDriftPath));
    RETURN_IF_ERROR(CheckSize(at + ".reason", drift.reason(), Limits::kDriftReason));
  }
  return absl::OkStatus();
}

absl::Status CheckProgress(const v1::StepProgress& progress) {
  RETURN_IF_ERROR(CheckAppName("progress.app", progress.app()));
  RETURN_IF_ERROR(CheckSize("progress.step", progress.step(), Limits::kStepName));
  return CheckSize("progress.message", progress.message(), Limits::kMessage);
}

absl::Status CheckResult(const v1::DeployResult& result) {
  RETURN_IF_ERROR(CheckAppName("result.app", result.app()));
  RETURN_IF_ERROR(CheckSize("result.failed_step", result.failed_step(), Limits::kStepName));
  RETURN_IF_ERROR(CheckSize("result.error", result.error(), Limits::kError));
  // An agent reports no live release as an unset (empty) AppHealth.
  if (!result.has_live() || result.live().app().empty()) return absl::OkStatus();
  return CheckHealth("result.live", result.live());
}

absl::Status CheckLogs(const v1::LogChunk& logs) {
  RETURN_IF_ERROR(CheckCount("logs.entries", logs.entries_size(), Limits::kLogEntries));
  for (int i = 0; i < logs.entries_size(); ++i) {
    const v1::JournalEntry& entry = logs.entries(i);
    const std::string at = absl::StrCat("logs.entries[", i, "]");
    RETURN_IF_ERROR(CheckSize(at + ".unit", entry.unit(), Limits::kUnitName));
    RETURN_IF_ERROR(CheckSize(at + ".message", entry.message(), Limits::kLogMessage));
  }
  return CheckSize("logs.error", logs.error(), Limits::kMessage);
}

}  // namespace

absl::Status ValidateHello(const v1::Hello& hello) {
  RETURN_IF_ERROR(CheckHostName("hello.host", hello.host()));
  RETURN_IF_ERROR(CheckCount("hello.labels", hello.labels_size(), Limits::kLabels));
  for (const auto& [key, value] : hello.labels()) {
    if (key.empty() || HasControlChar(key)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "hello.labels: key \"", text::ForLog(key), "\" must be printable and not empty"));
    }
    RETURN_IF_ERROR(CheckSize("hello.labels: a key", key, Limits::kLabelKey));
    const std::string field = absl::StrCat("hello.labels[", text::ForLog(key), "]");
    RETURN_IF_ERROR(CheckSize(field, value, Limits::kLabelValue));
    if (HasControlChar(value)) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": must be printable"));
    }
  }
  RETURN_IF_ERROR(CheckSize("hello.agent_version", hello.agent_version(), Limits::kAgentVersion));
  RETURN_IF_ERROR(CheckCount("hello.apps", hello.apps_size(), Limits::kApps));
  for (int i = 0; i < hello.apps_size(); ++i) {
    RETURN_IF_ERROR(CheckHealth(absl::StrCat("hello.apps[", i, "]"), hello.apps(i)));
  }
  return absl::OkStatus();
}

absl::Status ValidateAgentMessage(const v1::AgentMessage& message) {
  switch (message.message_case()) {
    case v1::AgentMessage::kHello:
      return ValidateHello(message.hello());
    case v1::AgentMessage::kProgress:
      return CheckProgress(message.progress());
    case v1::AgentMessage::kResult:
      return CheckResult(message.result());
    case v1::AgentMessage::kHealth:
      return CheckHealth("health", message.health());
    case v1::AgentMessage::kLogs:
      return CheckLogs(message.logs());
    case v1::AgentMessage::kHeartbeat:
    case v1::AgentMessage::MESSAGE_NOT_SET:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

}  // namespace pyservice::controller::fleet
