#include "controller/fleet/repo_credentials.h"

#include <string>
#include <vector>

#include "common/text/url_credentials.h"

namespace pyservice::controller::fleet {
namespace {

const std::string* AppOf(const v1::AgentMessage& message) {
  switch (message.message_case()) {
    case v1::AgentMessage::kProgress:
      return &message.progress().app();
    case v1::AgentMessage::kResult:
      return &message.result().app();
    case v1::AgentMessage::kHealth:
      return &message.health().app();
    default:
      return nullptr;  // Hello and heartbeats carry no free text
  }
}

void Redact(const std::vector<const std::string*>& repos, std::string* text) {
  for (const std::string* repo : repos) *text = text::RedactUrlCredentialsIn(*text, *repo);
}

}  // namespace

std::optional<v1::AgentMessage> RedactRepoCredentials(const DesiredSet& desired,
                                                      const v1::AgentMessage& message) {
  const std::string* app = AppOf(message);
  if (app == nullptr) return std::nullopt;
  const auto it = desired.find(*app);
  if (it == desired.end()) return std::nullopt;
  std::vector<const std::string*> repos;
  for (const DesiredRevision* revision :
       {static_cast<const DesiredRevision*>(&it->second), &it->second.from}) {
    if (revision->spec != nullptr && !text::UrlCredentials(revision->spec->repo()).empty()) {
      repos.push_back(&revision->spec->repo());
    }
  }
  if (repos.empty()) return std::nullopt;
  v1::AgentMessage scrubbed = message;
  // Only the set member of the oneof: mutable_* of another would switch it.
  if (scrubbed.has_progress()) {
    Redact(repos, scrubbed.mutable_progress()->mutable_message());
  } else if (scrubbed.has_result()) {
    Redact(repos, scrubbed.mutable_result()->mutable_error());
    if (scrubbed.result().has_live()) {
      Redact(repos, scrubbed.mutable_result()->mutable_live()->mutable_message());
    }
  } else {
    Redact(repos, scrubbed.mutable_health()->mutable_message());
  }
  return scrubbed;
}

}  // namespace pyservice::controller::fleet
