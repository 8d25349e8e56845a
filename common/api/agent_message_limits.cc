#include "common/api/agent_message_limits.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace pyservice {
namespace {

// Whether `c` continues a UTF-8 sequence (10xxxxxx): a cut must not land
// before one.
bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

void Fit(std::string& text, size_t limit) {
  if (text.size() <= limit) return;
  // The note's length depends on the count; 32 bytes hold any of them.
  constexpr size_t kNoteRoom = 32;
  size_t keep = limit - kNoteRoom;
  while (keep > 0 && IsContinuationByte(text[keep])) --keep;
  const size_t cut = text.size() - keep;
  text.resize(keep);
  absl::StrAppend(&text, " [… ", cut, " bytes cut]");
}

void FitHealth(v1::AppHealth& health) { Fit(*health.mutable_message(), AgentMessageLimits::kMessage); }

}  // namespace

void FitAgentMessage(v1::AgentMessage& message) {
  switch (message.message_case()) {
    case v1::AgentMessage::kHello:
      for (v1::AppHealth& app : *message.mutable_hello()->mutable_apps()) FitHealth(app);
      return;
    case v1::AgentMessage::kProgress:
      Fit(*message.mutable_progress()->mutable_message(), AgentMessageLimits::kMessage);
      return;
    case v1::AgentMessage::kResult:
      Fit(*message.mutable_result()->mutable_error(), AgentMessageLimits::kError);
      if (message.result().has_live()) FitHealth(*message.mutable_result()->mutable_live());
      return;
    case v1::AgentMessage::kHealth:
      FitHealth(*message.mutable_health());
      return;
    case v1::AgentMessage::kLogs:
      for (v1::JournalEntry& entry : *message.mutable_logs()->mutable_entries()) {
        Fit(*entry.mutable_message(), AgentMessageLimits::kLogMessage);
      }
      Fit(*message.mutable_logs()->mutable_error(), AgentMessageLimits::kMessage);
      return;
    case v1::AgentMessage::kHeartbeat:
    case v1::AgentMessage::MESSAGE_NOT_SET:
      return;
  }
}

}  // namespace pyservice
