// How `pyctl logs` and `pyctl events` print: one line per log entry
// ("HOST UNIT TIME MESSAGE") or event, and the documents of -o json|yaml
// (INTERFACES.md). App output is shown as the app wrote it, with control
// characters (terminal escapes) replaced, so a log line cannot redraw the
// operator's terminal.
#ifndef PYSERVICE_CLI_COMMANDS_LOGS_FORMAT_H_
#define PYSERVICE_CLI_COMMANDS_LOGS_FORMAT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli/output/document.h"
#include "pyservice/v1/controller.pb.h"

namespace pyservice::cli {

// "web-1 hello-web.service 2025-01-31T12:00:00.123456Z hello world\n".
std::string LogLine(const v1::LogEntry& entry);
// Entries of several hosts merged by time (stable: one host's order kept).
void SortByTime(std::vector<v1::LogEntry>& entries);
Document LogEntryDocument(const v1::LogEntry& entry);

// "host_connected", "deploy_failed", ...
std::string EventKindName(v1::FleetEventKind kind);
// "2025-01-31T12:00:00Z deploy_failed hello@web-1 revision 3 step environment: ...\n".
std::string EventLine(const v1::FleetEvent& event);
Document EventDocument(const v1::FleetEvent& event);

// --since: an RFC 3339 time, or a duration before `now` ("10m", "2h").
// INVALID_ARGUMENT naming the flag otherwise.
absl::StatusOr<std::string> SinceTime(absl::string_view since, absl::Time now);

}  // namespace pyservice::cli

#endif  // PYSERVICE_CLI_COMMANDS_LOGS_FORMAT_H_
