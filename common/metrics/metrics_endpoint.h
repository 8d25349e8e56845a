// GET /metrics: a Registry's text exposition served by common/http, the one
// way the controller and the agent expose their metrics.
#ifndef PYSERVICE_COMMON_METRICS_METRICS_ENDPOINT_H_
#define PYSERVICE_COMMON_METRICS_METRICS_ENDPOINT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/http/http_server.h"
#include "common/metrics/registry.h"

namespace pyservice::metrics {

// Adds "/metrics" (rendering `registry` at every request) to `routes`.
void AddMetricsRoute(Registry& registry, http::Routes& routes);

// Serves /metrics on `listen` (HOST:PORT) with a small pool: a scrape every
// few seconds from one Prometheus needs no more. `registry` must outlive the
// server.
absl::StatusOr<std::unique_ptr<http::HttpServer>> StartMetricsServer(const std::string& listen,
                                                                     Registry& registry);

}  // namespace pyservice::metrics

#endif  // PYSERVICE_COMMON_METRICS_METRICS_ENDPOINT_H_
