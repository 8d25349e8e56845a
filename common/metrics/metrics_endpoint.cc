#include "common/metrics/metrics_endpoint.h"

#include "common/metrics/exposition.h"

namespace pyservice::metrics {

void AddMetricsRoute(Registry& registry, http::Routes& routes) {
  routes.Handle("/metrics", [&registry](const http::Request&) {
    return http::Response{.status = 200,
                          .content_type = std::string(kExpositionContentType),
                          .body = registry.Render()};
  });
}

absl::StatusOr<std::unique_ptr<http::HttpServer>> StartMetricsServer(const std::string& listen,
                                                                     Registry& registry) {
  http::Routes routes;
  AddMetricsRoute(registry, routes);
  http::HttpServerOptions options;
  options.listen = listen;
  options.worker_threads = 2;
  options.max_streams = 0;
  options.max_pending_connections = 8;
  return http::HttpServer::Start(std::move(options), std::move(routes));
}

}  // namespace pyservice::metrics
