// GET /metrics of the real controller binary over a real socket, checked by
// promtool and scraped by a real Prometheus, next to the agent's metrics
// (its AgentMetrics served in-process: the agent binary's daemon needs a
// real systemd, which the e2e hosts have and this test does not). Both
// tools come with Debian's `prometheus` package (deploy/install-deps.sh);
// when one is missing the test fails saying so.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "agent/daemon/agent_metrics.h"
#include "common/metrics/metrics_endpoint.h"
#include "common/process/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/controller_harness.h"
#include "tests/testing/child_process.h"
#include "tests/testing/http_client.h"
#include "tests/testing/json.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::testing {
namespace {

using ::testing::HasSubstr;

// The tool's path on PATH, or "" (the caller fails the test naming it).
std::string FindTool(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path == nullptr ? "/usr/bin:/bin" : path, ':')) {
    const std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

int PortOf(const std::string& address) {
  int port = 0;
  const bool ok = absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port);
  EXPECT_TRUE(ok) << address;
  return port;
}

// A loopback port free right now, for Prometheus's own web listener (it
// cannot report a port 0 listener's port).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t length = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  close(fd);
  return ntohs(addr.sin_port);
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

// promtool check metrics on `text`: exit 0 and no findings.
void ExpectPromtoolAccepts(const std::string& text) {
  const std::string promtool = FindTool("promtool");
  ASSERT_FALSE(promtool.empty())
      << "promtool is not on PATH: install Debian's prometheus package "
         "(deploy/install-deps.sh does)";
  absl::StatusOr<ProcessResult> checked = RunProcess(
      {.argv = {promtool, "check", "metrics"}, .stdin_text = text, .timeout = absl::Minutes(1)});
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_TRUE(checked->Succeeded()) << checked->Describe() << "\n" << checked->stdout_text
                                    << checked->stderr_text << "\n--- scraped:\n" << text;
  // promtool prints lint findings (exit 0 for some of them): there must be none.
  EXPECT_EQ(checked->stdout_text + checked->stderr_text, "") << text;
}

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
  std::string escaped;
  for (const char c : query) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_') {
      escaped += c;
    } else {
      absl::StrAppend(&escaped, "%", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    }
  }
  absl::StatusOr<HttpAnswer> answer =
      HttpGet(prometheus_port, absl::StrCat("/api/v1/query?query=", escaped));
  if (!answer.ok() || answer->status != 200) return "";
  absl::StatusOr<JsonValue> json = ParseJson(answer->body);
  if (!json.ok()) return "";
  const auto& data = json->struct_value().fields();
  if (!data.contains("data")) return "";
  const auto& result = data.at("data").struct_value().fields().at("result").list_value();
  if (result.values_size() != 1) return "";
  return result.values(0).struct_value().fields().at("value").list_value().values(1)
      .string_value();
}

TEST_F(MetricsTest, RealPrometheusScrapesControllerAndAgentAndSeesTheirValues) {
  const std::string prometheus = FindTool("prometheus");
  ASSERT_FALSE(prometheus.empty())
      << "prometheus is not on PATH: install Debian's prometheus package "
         "(deploy/install-deps.sh does)";
  const std::string config = dir_.path() + "/prometheus.yml";
  std::ofstream(config) << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                           "scrape_configs:\n  - job_name: controller\n    static_configs:\n"
                           "      - targets: ['"
                        << controller_.metrics_address()
                        << "']\n  - job_name: agent\n    static_configs:\n      - targets: ['"
                        << agent_server_->address() << "']\n";
  const int port = FreePort();
  absl::StatusOr<std::unique_ptr<ChildProcess>> server = ChildProcess::Start(
      {.argv = {prometheus, "--config.file=" + config,
                "--storage.tsdb.path=" + dir_.path() + "/tsdb",
                absl::StrCat("--web.listen-address=127.0.0.1:", port)},
       .output_dir = dir_.path(),
       .name = "prometheus"});
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE((*server)
                  ->WaitForStderrLine("Server is ready to receive web requests", kStartTimeout)
                  .ok())
      << (*server)->ReadStderr();
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
