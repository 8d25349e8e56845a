#include "controller/dashboard/dashboard_routes.h"

#include <arpa/inet.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/tls/plaintext.h"
#include "controller/dashboard/dashboard_assets.h"
#include "controller/dashboard/fleet_snapshot.h"
#include "controller/fleet/wake_on_change.h"
#include "spdlog/spdlog.h"

namespace pyservice::controller::dashboard {
namespace {

// Scripts, styles and fetches from this origin only, nothing inline, no
// plugins, images, frames, forms or <base>, and not framed by anyone.
constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

http::Response Asset(std::string content_type, absl::string_view body) {
  return {.status = 200,
          .content_type = std::move(content_type),
          .body = std::string(body),
          .headers = SecurityHeaders()};
}

http::Response Refused() {
  return {.status = 403,
          .body = "403 Forbidden: the Host header must be an IP address or localhost "
                  "(DNS rebinding protection)\n",
          .headers = SecurityHeaders()};
}

absl::StatusOr<std::string> SnapshotJson(Store& store, const fleet::Fleet& fleet) {
  ASSIGN_OR_RETURN(const v1::FleetSnapshot snapshot, BuildFleetSnapshot(store, fleet));
  return FleetSnapshotJson(snapshot);
}

// GET /api/events: a snapshot now, then one after each change (or poll),
// never two alike in a row, at most one per min_interval.
void StreamSnapshots(Store& store, fleet::Fleet& fleet, const DashboardOptions& options,
                     const http::Request& request, http::EventStream& stream) {
  // The head (200) has gone out already; a refused stream just ends empty.
  if (!HostHeaderAllowed(request)) return;
  auto wake = std::make_shared<fleet::WakeOnChange>();
  const std::optional<uint64_t> subscription = fleet.events().Subscribe("", wake);
  if (!subscription.has_value()) return;
  struct Unsubscribe {
    fleet::FleetEvents& events;
    uint64_t id;
    ~Unsubscribe() { events.Unsubscribe(id); }
  } unsubscribe{fleet.events(), *subscription};

  std::string last_sent;
  while (true) {
    absl::StatusOr<std::string> json = SnapshotJson(store, fleet);
    if (!json.ok()) {
      spdlog::warn("dashboard: fleet snapshot: {}", json.status().ToString());
    } else if (*json != last_sent) {
      if (!stream.Send("snapshot", *json)) return;
      last_sent = *std::move(json);
    }
    if (!stream.Wait(options.min_interval)) return;
    if (!wake->Wait(options.poll_interval)) return;
  }
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& SecurityHeaders() {
  static const auto* const headers = new std::vector<std::pair<std::string, std::string>>{
      {"Content-Security-Policy", kContentSecurityPolicy},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cache-Control", "no-store"},
  };
  return *headers;
}

bool HostHeaderAllowed(const http::Request& request) {
  const auto it = request.headers.find("host");
  if (it == request.headers.end()) return true;
  absl::string_view host = it->second;
  absl::string_view port;
  if (absl::StartsWith(host, "[")) {
    const size_t close = host.find(']');
    if (close == absl::string_view::npos) return false;
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!port.empty() && !absl::StartsWith(port, ":")) return false;
  } else if (const size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    port = host.substr(colon);
    host = host.substr(0, colon);
  }
  uint32_t port_number = 0;
  if (!port.empty() && !absl::SimpleAtoi(port.substr(1), &port_number)) return false;
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  const std::string literal(host);
  unsigned char address[16];
  return inet_pton(AF_INET, literal.c_str(), address) == 1 ||
         inet_pton(AF_INET6, literal.c_str(), address) == 1;
}

absl::Status CheckDashboardListen(const std::string& listen, bool insecure) {
  if (insecure || tls::IsLoopbackAddress(listen)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "http_listen ", listen,
      ": the dashboard has no authentication; use a loopback address (127.0.0.1:PORT, "
      "[::1]:PORT), reach it through an SSH tunnel, or set insecure: true"));
}

void AddDashboardRoutes(http::Routes& routes, Store& store, fleet::Fleet& fleet,
                        DashboardOptions options) {
  // Each page handler checks the Host header first (DNS rebinding).
  const auto guarded = [](http::Response (*serve)()) {
    return [serve](const http::Request& request) {
      return HostHeaderAllowed(request) ? serve() : Refused();
    };
  };
  routes.Handle("/", guarded([] { return Asset("text/html; charset=utf-8", IndexHtml()); }));
  routes.Handle("/dashboard.js", guarded([] {
                  return Asset("text/javascript; charset=utf-8", DashboardJs());
                }));
  routes.Handle("/dashboard.css",
                guarded([] { return Asset("text/css; charset=utf-8", DashboardCss()); }));
  routes.Handle("/api/fleet", [&store, &fleet](const http::Request& request) {
    if (!HostHeaderAllowed(request)) return Refused();
    absl::StatusOr<std::string> json = SnapshotJson(store, fleet);
    if (!json.ok()) {
      spdlog::warn("dashboard: fleet snapshot: {}", json.status().ToString());
      return http::Response{.status = 500,
                            .body = "500 Internal Server Error: the fleet could not be read\n",
                            .headers = SecurityHeaders()};
    }
    return Asset("application/json", *json);
  });
  routes.HandleStream("/api/events",
                      [&store, &fleet, options](const http::Request& request,
                                                http::EventStream& stream) {
                        StreamSnapshots(store, fleet, options, request, stream);
                      });
}

}  // namespace pyservice::controller::dashboard
