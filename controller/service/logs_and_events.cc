// TailLogs and WatchEvents: sync streaming, one thread per reader, as for
// WatchRollout (operators run them, not agents). Each waits in short
// slices, so a cancelled call is noticed within one.
#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/spec/validators.h"
#include "common/status/grpc_status.h"
#include "controller/auth/app_scope.h"
#include "controller/service/controller_service.h"

namespace pyservice::controller {
namespace {

// Entries waiting for a slow reader, at most; beyond, they are counted as
// dropped (TailLogsResponse.dropped) rather than held.
constexpr size_t kMaxBufferedLogEntries = 10000;
constexpr uint32_t kDefaultLogLines = 100;
constexpr uint32_t kMaxLogLines = 10000;
constexpr absl::Duration kWaitSlice = absl::Milliseconds(500);

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

}  // namespace

grpc::Status ControllerServiceImpl::TailLogs(grpc::ServerContext* context,
                                             const v1::TailLogsRequest* request,
                                             grpc::ServerWriter<v1::TailLogsResponse>* writer) {
  if (absl::Status valid = spec::ValidateName(request->app()); !valid.ok()) {
    return Invalid(absl::StrCat("app name: ", valid.message()));
  }
  v1::LogTailRequest ask;
  ask.set_app(request->app());
  ask.set_lines(request->lines() == 0 ? kDefaultLogLines
                                      : std::min(request->lines(), kMaxLogLines));
  ask.set_follow(request->follow());
  if (!request->since().empty()) {
    absl::Time since;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, request->since(), &since, &error)) {
      return Invalid(absl::StrCat("since: \"", request->since(),
                                  "\" is not an RFC 3339 time (2025-01-31T12:00:00Z): ", error));
    }
    ask.set_since_unix_micros(absl::ToUnixMicros(since));
  }
  absl::StatusOr<fleet::Fleet::LogTailOpened> opened =
      fleet_.OpenLogTail(ask, request->host(), kMaxBufferedLogEntries);
  if (!opened.ok()) return ToGrpcStatus(opened.status());
  struct CloseTail {
    fleet::Fleet& fleet;
    uint64_t id;
    ~CloseTail() { fleet.CloseLogTail(id); }
  } close{fleet_, opened->id};

  while (true) {
    fleet::LogStream::Taken taken = opened->stream->Take(kWaitSlice);
    const v1::TailLogsResponse& response = taken.response;
    if (response.entries_size() > 0 || response.host_errors_size() > 0 ||
        response.dropped() > 0) {
      if (!writer->Write(response)) return grpc::Status(grpc::StatusCode::CANCELLED, "reader gone");
    }
    if (taken.finished) return grpc::Status::OK;
    if (taken.shut_down) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the controller is shutting down");
    }
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
  }
}

grpc::Status ControllerServiceImpl::WatchEvents(grpc::ServerContext* context,
                                                const v1::WatchEventsRequest* request,
                                                grpc::ServerWriter<v1::FleetEvent>* writer) {
  const std::vector<std::string> apps(request->apps().begin(), request->apps().end());
  for (const std::string& pattern : apps) {
    if (absl::Status valid = auth::ValidateAppPattern(pattern); !valid.ok()) {
      return Invalid(absl::StrCat("apps: ", valid.message()));
    }
  }
  fleet::EventLog& history = fleet_.history();
  uint64_t last = 0;
  while (true) {
    for (const v1::FleetEvent& event : history.After(last)) {
      last = event.sequence();
      // Host events concern every app.
      if (!event.app().empty() && !auth::InScope(apps, event.app())) continue;
      if (!writer->Write(event)) return grpc::Status(grpc::StatusCode::CANCELLED, "reader gone");
    }
    if (!request->follow()) return grpc::Status::OK;
    if (!history.Wait(last, kWaitSlice)) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the controller is shutting down");
    }
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
  }
}

}  // namespace pyservice::controller
