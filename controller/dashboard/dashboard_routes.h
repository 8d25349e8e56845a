// The controller's web dashboard on the HTTP listener (common/http/
// http_server.h): a live view of hosts, the apps x hosts health matrix and
// running rollouts.
//
//   GET /               the page (assets/index.html)
//   GET /dashboard.js   its script; GET /dashboard.css its style
//   GET /api/fleet      the fleet now: v1::FleetSnapshot as JSON
//   GET /api/events     Server-Sent Events: a "snapshot" event with the same
//                       JSON at once, then after each change (coalesced, at
//                       most one per min_interval)
//
// Read-only and unauthenticated, so meant for loopback (or behind a proxy
// that authenticates). What keeps a browser safe with it:
// * host-reported text is data: the script renders it with textContent
//   only, and every response carries a Content-Security-Policy without
//   inline script (the script is its own file), X-Content-Type-Options:
//   nosniff (the server's), no CORS header (other origins cannot read it),
//   frame-ancestors 'none';
// * DNS rebinding: a request naming a host other than an IP literal or
//   "localhost" in its Host header is refused (403), so a web page whose
//   name was re-pointed at 127.0.0.1 cannot read the fleet.
#ifndef PYSERVICE_CONTROLLER_DASHBOARD_DASHBOARD_ROUTES_H_
#define PYSERVICE_CONTROLLER_DASHBOARD_DASHBOARD_ROUTES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/http/http_request.h"
#include "common/http/http_server.h"
#include "controller/fleet/fleet.h"
#include "controller/store/store.h"

namespace pyservice::controller::dashboard {

struct DashboardOptions {
  // Snapshots on /api/events are at least this far apart.
  absl::Duration min_interval = absl::Milliseconds(250);
  // Without any fleet event, the fleet is re-read this often (last_seen
  // moves without one).
  absl::Duration poll_interval = absl::Seconds(2);
};

// The headers every dashboard response carries (the CSP and friends).
const std::vector<std::pair<std::string, std::string>>& SecurityHeaders();

// Whether the request's Host header names an IP literal or "localhost" (or
// is absent: no browser sends that).
bool HostHeaderAllowed(const http::Request& request);

// OK when the dashboard may listen on `listen` (HOST:PORT): a loopback IP
// literal (tls::IsLoopbackAddress), or anything with `insecure` (the
// operator's insecure: true). Otherwise INVALID_ARGUMENT naming the
// address and the ways out: the dashboard has no authentication.
absl::Status CheckDashboardListen(const std::string& listen, bool insecure);

// Adds the routes above. `store` and `fleet` must outlive the server.
void AddDashboardRoutes(http::Routes& routes, Store& store, fleet::Fleet& fleet,
                        DashboardOptions options = {});

}  // namespace pyservice::controller::dashboard

#endif  // PYSERVICE_CONTROLLER_DASHBOARD_DASHBOARD_ROUTES_H_
