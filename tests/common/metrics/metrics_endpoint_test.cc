#include "common/metrics/metrics_endpoint.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/http_client.h"

namespace pyservice::metrics {
namespace {

TEST(MetricsEndpointTest, ServesTheRegistryWithTheExpositionContentType) {
  Registry registry;
  absl::StatusOr<CounterFamily*> scrapes = registry.AddCounter("scrapes_total", "Scrapes.");
  ASSERT_TRUE(scrapes.ok());
  registry.AddCollector([&] { (*scrapes)->Labels({}).Inc(); });
  absl::StatusOr<std::unique_ptr<http::HttpServer>> server =
      StartMetricsServer("127.0.0.1:0", registry);
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<testing::HttpAnswer> answer = testing::HttpGet((*server)->port(), "/metrics");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(answer->body, ::testing::HasSubstr("scrapes_total 1\n"));
}

}  // namespace
}  // namespace pyservice::metrics
