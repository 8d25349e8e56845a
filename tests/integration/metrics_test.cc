// GET /metrics of the real controller binary over a real socket, checked by
// promtool and scraped by a real Prometheus, next to the agent's metrics
// code served in-process with known values (the pyservice-agent binary's
// own endpoint needs a real systemd: fleet_e2e_test scrapes it on a test
// host). tests/testing/prometheus.h runs both tools.

#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/daemon/agent_metrics.h"
#include "common/metrics/metrics_endpoint.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/controller_harness.h"
#include "tests/testing/child_process.h"
#include "tests/testing/http_client.h"
#include "tests/testing/json.h"
#include "tests/testing/prometheus.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::testing {
namespace {

using ::testing::HasSubstr;

int PortOf(const std::string& address) {
  int port = 0;
  const bool ok = absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port);
  EXPECT_TRUE(ok) << address;
  return port;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(controller_.Start({"--insecure-agents"}).ok()) << controller_.Stderr();
    ASSERT_FALSE(controller_.metrics_address().empty());
    // One connected host, so the fleet gauges have something to count.
    absl::StatusOr<std::unique_ptr<ChildProcess>> agent = ChildProcess::Start(
        {.argv = {FAKE_AGENT_BIN, controller_.unix_address(), "web-1"},
         .output_dir = dir_.path(),
         .name = "fake-agent"});
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *std::move(agent);
    ASSERT_TRUE(agent_->WaitForStderrLine("welcomed web-1", kStartTimeout).ok())
        << agent_->ReadStderr();

    absl::StatusOr<std::unique_ptr<agent::AgentMetrics>> agent_metrics =
        agent::AgentMetrics::Register(agent_registry_);
    ASSERT_TRUE(agent_metrics.ok()) << agent_metrics.status();
    agent_metrics_ = *std::move(agent_metrics);
    v1::AgentMessage result;
    result.mutable_result()->set_app("web");
    result.mutable_result()->set_ok(true);
    result.mutable_result()->mutable_live()->set_app("web");
    result.mutable_result()->mutable_live()->set_health(v1::HEALTH_STATE_HEALTHY);
    agent_metrics_->Record(result);
    v1::AgentMessage step;
    step.mutable_progress()->set_app("web");
    step.mutable_progress()->set_step("checkout");
    step.mutable_progress()->set_state(v1::STEP_STATE_DONE);
    step.mutable_progress()->set_elapsed_ms(1200);
    agent_metrics_->Record(step);
    agent_metrics_->LinkChanged(true);
    absl::StatusOr<std::unique_ptr<http::HttpServer>> agent_server =
        metrics::StartMetricsServer("127.0.0.1:0", agent_registry_);
    ASSERT_TRUE(agent_server.ok()) << agent_server.status();
    agent_server_ = *std::move(agent_server);
  }

  absl::StatusOr<HttpAnswer> Scrape() {
    return HttpGet(PortOf(controller_.metrics_address()), "/metrics");
  }

  TempDir dir_;
  ControllerHarness controller_{dir_.path()};
  std::unique_ptr<ChildProcess> agent_;
  metrics::Registry agent_registry_;
  std::unique_ptr<agent::AgentMetrics> agent_metrics_;
  std::unique_ptr<http::HttpServer> agent_server_;
};

TEST_F(MetricsTest, ControllerServesFleetMetricsInTheExpositionFormat) {
  absl::StatusOr<HttpAnswer> answer = Scrape();
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(answer->body, HasSubstr("# TYPE pyservice_controller_hosts gauge\n"));
  EXPECT_THAT(answer->body, HasSubstr("pyservice_controller_hosts{state=\"connected\"} 1\n"));
  EXPECT_THAT(answer->body, HasSubstr("pyservice_controller_agent_sessions 1\n"));
  EXPECT_THAT(answer->body, HasSubstr("pyservice_controller_agent_sessions_started_total 1\n"));
  EXPECT_THAT(answer->body, HasSubstr("pyservice_controller_apps 0\n"));
  EXPECT_THAT(answer->body, HasSubstr("# TYPE pyservice_controller_step_duration_seconds "
                                      "histogram\n"));
}

TEST_F(MetricsTest, ControllerMetricsPassPromtoolCheckMetrics) {
  absl::StatusOr<HttpAnswer> answer = Scrape();
  ASSERT_TRUE(answer.ok()) << answer.status();
  ExpectPromtoolAccepts(answer->body);
}

TEST_F(MetricsTest, AgentMetricsPassPromtoolCheckMetrics) {
  absl::StatusOr<HttpAnswer> answer = HttpGet(agent_server_->port(), "/metrics");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_THAT(answer->body,
              HasSubstr("pyservice_agent_deploys_total{app=\"web\",result=\"succeeded\"} 1\n"));
  ExpectPromtoolAccepts(answer->body);
}

// The value of the single sample `query` returns, from Prometheus's HTTP
// API; "" while it returns none.
std::string QueryValue(int prometheus_port, const std::string& query) {
  absl::StatusOr<HttpAnswer> answer = HttpGet(prometheus_port, PrometheusQueryPath(query));
  if (!answer.ok() || answer->status != 200) return "";
  return PrometheusSampleValue(answer->body);
}

TEST_F(MetricsTest, RealPrometheusScrapesControllerAndAgentAndSeesTheirValues) {
  const int port = FreeLoopbackPort();
  absl::StatusOr<std::unique_ptr<ChildProcess>> server =
      StartPrometheus({.dir = dir_.path(),
                       .jobs = {{"controller", controller_.metrics_address()},
                                {"agent", agent_server_->address()}},
                       .port = port});
  ASSERT_TRUE(server.ok()) << server.status();
  // Scrapes run every second; wait for the first one that reached us.
  const absl::Time deadline = absl::Now() + kHttpHangGuard;
  std::string up;
  while (up.empty() && absl::Now() < deadline) {
    up = QueryValue(port, "up{job=\"controller\"}");
    if (up.empty()) absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(up, "1") << (*server)->ReadStderr();
  EXPECT_EQ(QueryValue(port, "pyservice_controller_hosts{state=\"connected\"}"), "1");
  EXPECT_EQ(QueryValue(port, "pyservice_controller_agent_sessions_started_total"), "1");
  // The agent's target is scraped on its own schedule: wait for it too.
  std::string agent_up;
  while (agent_up.empty() && absl::Now() < deadline) {
    agent_up = QueryValue(port, "up{job=\"agent\"}");
    if (agent_up.empty()) absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(agent_up, "1") << (*server)->ReadStderr();
  EXPECT_EQ(QueryValue(port, "pyservice_agent_deploys_total{app=\"web\",result=\"succeeded\"}"),
            "1");
  EXPECT_EQ(QueryValue(port, "pyservice_agent_controller_connected"), "1");
}

}  // namespace
}  // namespace pyservice::testing

namespace pyservice::testing {
namespace {

TEST(ControllerMetricsListenTest, BusyMetricsPortIsLoggedAndTheControllerStillServes) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<http::HttpServer>> squatter =
      http::HttpServer::Start({.listen = "127.0.0.1:0"}, http::Routes());
  ASSERT_TRUE(squatter.ok()) << squatter.status();
  ControllerHarness controller(dir.path());
  ASSERT_TRUE(controller.Start({"--metrics-listen", (*squatter)->address()}).ok())
      << controller.Stderr();
  EXPECT_TRUE(controller.process()
                  .WaitForStderrLine("metrics endpoint off: cannot listen on", kStartTimeout)
                  .ok())
      << controller.Stderr();
}

TEST(ControllerMetricsListenTest, MalformedMetricsAddressIsAUsageError) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<ChildProcess>> process = StartControllerProcess(
      {"--listen", "unix:" + dir.path() + "/c.sock", "--data-dir", dir.path() + "/data",
       "--metrics-listen", "localhost"},
      dir.path(), "bad-metrics");
  ASSERT_TRUE(process.ok()) << process.status();
  absl::StatusOr<ExitStatus> exit = (*process)->WaitForExit(kStartTimeout);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->exit_code, 2) << (*process)->ReadStderr();
  EXPECT_THAT((*process)->ReadStderr(), HasSubstr("bad listen address \"localhost\""));
}

}  // namespace
}  // namespace pyservice::testing
