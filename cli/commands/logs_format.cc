#include "cli/commands/logs_format.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/text/utf8.h"

namespace pyservice::cli {
namespace {

// Control characters would let a log line move the cursor or recolor the
// terminal; tabs stay.
std::string Printable(absl::string_view text) {
  std::string out = text::ToValidUtf8(text);
  for (char& c : out) {
    const unsigned char byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f) c = '?';
  }
  return out;
}

}  // namespace

std::string LogLine(const v1::LogEntry& entry) {
  return absl::StrCat(Printable(entry.host()), " ", Printable(entry.unit()), " ",
                      Printable(entry.time()), " ", Printable(entry.message()), "\n");
}

void SortByTime(std::vector<v1::LogEntry>& entries) {
  // RFC 3339 UTC at a fixed width: text order is time order.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const v1::LogEntry& a, const v1::LogEntry& b) { return a.time() < b.time(); });
}

Document LogEntryDocument(const v1::LogEntry& entry) {
  return Document::Map()
      .Set("host", Document::String(entry.host()))
      .Set("unit", Document::String(entry.unit()))
      .Set("time", Document::String(entry.time()))
      .Set("priority", Document::Int(entry.priority()))
      .Set("message", Document::String(entry.message()));
}

std::string EventKindName(v1::FleetEventKind kind) {
  switch (kind) {
    case v1::FLEET_EVENT_KIND_HOST_CONNECTED: return "host_connected";
    case v1::FLEET_EVENT_KIND_HOST_DISCONNECTED: return "host_disconnected";
    case v1::FLEET_EVENT_KIND_DEPLOY_STARTED: return "deploy_started";
    case v1::FLEET_EVENT_KIND_DEPLOY_SUCCEEDED: return "deploy_succeeded";
    case v1::FLEET_EVENT_KIND_DEPLOY_FAILED: return "deploy_failed";
    case v1::FLEET_EVENT_KIND_ROLLOUT_STARTED: return "rollout_started";
    case v1::FLEET_EVENT_KIND_ROLLOUT_WAVE: return "rollout_wave";
    case v1::FLEET_EVENT_KIND_ROLLOUT_PROMOTED: return "rollout_promoted";
    case v1::FLEET_EVENT_KIND_ROLLOUT_ROLLED_BACK: return "rollout_rolled_back";
    case v1::FLEET_EVENT_KIND_ROLLOUT_SUCCEEDED: return "rollout_succeeded";
    case v1::FLEET_EVENT_KIND_ROLLOUT_ENDED: return "rollout_ended";
    case v1::FLEET_EVENT_KIND_APP_APPLIED: return "app_applied";
    case v1::FLEET_EVENT_KIND_APP_DELETED: return "app_deleted";
    default: return "unknown";
  }
}

std::string EventLine(const v1::FleetEvent& event) {
  std::string subject = event.app();
  if (!event.host().empty()) {
    subject = subject.empty() ? event.host() : absl::StrCat(subject, "@", event.host());
  }
  std::string line = absl::StrCat(event.time(), " ", EventKindName(event.kind()), " ", subject);
  switch (event.kind()) {
    case v1::FLEET_EVENT_KIND_ROLLOUT_STARTED:
    case v1::FLEET_EVENT_KIND_ROLLOUT_PROMOTED:
    case v1::FLEET_EVENT_KIND_ROLLOUT_ROLLED_BACK:
    case v1::FLEET_EVENT_KIND_ROLLOUT_SUCCEEDED:
    case v1::FLEET_EVENT_KIND_ROLLOUT_ENDED:
      absl::StrAppend(&line, " rollout ", event.id());
      break;
    case v1::FLEET_EVENT_KIND_ROLLOUT_WAVE:
      absl::StrAppend(&line, " rollout ", event.id(), " wave ", event.wave());
      break;
    case v1::FLEET_EVENT_KIND_DEPLOY_STARTED:
    case v1::FLEET_EVENT_KIND_DEPLOY_SUCCEEDED:
    case v1::FLEET_EVENT_KIND_DEPLOY_FAILED:
      absl::StrAppend(&line, " deploy ", event.id());
      break;
    case v1::FLEET_EVENT_KIND_APP_APPLIED:
      absl::StrAppend(&line, " revision ", event.revision());
      break;
    default:
      break;
  }
  if (!event.step().empty()) absl::StrAppend(&line, " step ", Printable(event.step()));
  if (!event.message().empty()) absl::StrAppend(&line, ": ", Printable(event.message()));
  return line + "\n";
}

Document EventDocument(const v1::FleetEvent& event) {
  return Document::Map()
      .Set("sequence", Document::Int(static_cast<int64_t>(event.sequence())))
      .Set("time", Document::String(event.time()))
      .Set("kind", Document::String(EventKindName(event.kind())))
      .Set("app", Document::String(event.app()))
      .Set("host", Document::String(event.host()))
      .Set("revision", Document::Int(event.revision()))
      .Set("id", Document::Int(static_cast<int64_t>(event.id())))
      .Set("step", Document::String(event.step()))
      .Set("wave", Document::Int(event.wave()))
      .Set("message", Document::String(event.message()));
}

absl::StatusOr<std::string> SinceTime(absl::string_view since, absl::Time now) {
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, since, &time, &error)) {
    return absl::FormatTime(absl::RFC3339_full, time, absl::UTCTimeZone());
  }
  absl::Duration ago;
  if (absl::ParseDuration(since, &ago) && ago >= absl::ZeroDuration()) {
    return absl::FormatTime(absl::RFC3339_full, now - ago, absl::UTCTimeZone());
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--since: \"", since, "\" is neither an RFC 3339 time (2025-01-31T12:00:00Z) nor a ",
      "duration (10m, 2h)"));
}

}  // namespace pyservice::cli
