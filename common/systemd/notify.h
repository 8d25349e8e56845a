// sd_notify(3) without libsystemd: Type=notify services tell systemd they
// are ready (or stopping) by sending a datagram to $NOTIFY_SOCKET.
#ifndef PYSERVICE_COMMON_SYSTEMD_NOTIFY_H_
#define PYSERVICE_COMMON_SYSTEMD_NOTIFY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace pyservice {

// Sends `state` ("READY=1", "STOPPING=1", "STATUS=...") to the service
// manager. OK and a no-op when not started by systemd (no NOTIFY_SOCKET).
absl::Status NotifyServiceManager(absl::string_view state);

}  // namespace pyservice

#endif  // PYSERVICE_COMMON_SYSTEMD_NOTIFY_H_
