// The fleet end to end: the real pyservice-controller on this machine,
// serving TLS on a Unix socket; three real systemd test hosts (each with its
// own network namespace), each running the real pyservice-agent installed
// from deploy/systemd/pyservice-agent.service, enrolled with a token from
// `pyctl host enroll-token` and dialing the controller with its certificate
// over the socket's directory bound into the host; the real pyctl binary
// (the harness: fleet_e2e.h).
//
// Hosts boot once per test binary run (SetUpTestSuite); CTest runs every
// test in a process of its own, so each test first makes sure the app is
// deployed (`pyctl apply` of an unchanged app changes nothing).
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/e2e/agent/hello_app.h"
#include "tests/e2e/fleet/fleet_e2e.h"
#include "tests/testing/prometheus.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::testing {
namespace {

constexpr int kHosts = 3;

std::string HostName(int i) { return absl::StrCat("web-", i + 1); }

class FleetE2eTest : public FleetE2eFixture {
 protected:
  static void SetUpTestSuite() {
    FleetOptions options;
    options.app_yaml = HelloAppYaml();
    for (int i = 0; i < kHosts; ++i) options.host_names.push_back(HostName(i));
    BootFleet(std::move(options), {"v1"});
  }

  static std::map<std::string, JsonValue> StatusByHost(std::string* raw = nullptr) {
    return fleet().StatusByHost("hello", raw);
  }

  static bool HostHealthy(const std::map<std::string, JsonValue>& status, const std::string& host) {
    auto it = status.find(host);
    return it != status.end() && Field(it->second, "health") == "healthy" &&
           Field(it->second, "connected") == "true" && UnitState(it->second) == "active";
  }

  static bool AllHealthy(const std::map<std::string, JsonValue>& status) {
    for (int i = 0; i < kHosts; ++i) {
      if (!HostHealthy(status, HostName(i))) return false;
    }
    return status.size() == kHosts;
  }

  // `pyctl apply` (the real process, waiting for the deploy); its result.
  static ProcessResult Apply() { return Pyctl({"apply", fleet().app_yaml_path()}, 300); }

  // The app deployed and healthy on all three hosts, whichever test runs
  // first.
  static void EnsureDeployed() {
    ASSERT_TRUE(Eventually(AllConnected, absl::Seconds(30)))
        << "agents did not connect\n" << Diagnostics();
    const ProcessResult applied = Apply();
    ASSERT_TRUE(applied.Succeeded()) << Describe(applied) << Diagnostics();
    std::string raw;
    ASSERT_TRUE(Eventually([&] { return AllHealthy(StatusByHost(&raw)); }, absl::Seconds(30)))
        << raw << Diagnostics();
  }
};

// Each host enrolled at its agent's first start: it holds a certificate
// for its own name from the controller's CA (its key made on the host) and
// carries the labels of its enrollment token.
TEST_F(FleetE2eTest, EveryHostEnrolledWithItsTokenAndConnectsWithItsCertificate) {
  ASSERT_TRUE(Eventually(AllConnected, absl::Seconds(30)))
      << "agents did not connect\n" << Diagnostics();
  std::ifstream ca_file(fleet().data_dir() + "/ca/ca.crt");
  const std::string controller_ca((std::istreambuf_iterator<char>(ca_file)),
                                  std::istreambuf_iterator<char>());
  ASSERT_NE(controller_ca, "");
  constexpr char kTls[] = "/var/lib/pyservice-agent/tls";
  for (int i = 0; i < kHosts; ++i) {
    EXPECT_EQ(Host(i).ReadFile(absl::StrCat(kTls, "/ca.crt")).value_or(""), controller_ca)
        << HostName(i);
    absl::StatusOr<std::string> verified = Host(i).RunOk(
        {"openssl", "verify", "-CAfile", absl::StrCat(kTls, "/ca.crt"),
         absl::StrCat(kTls, "/host.crt")});
    EXPECT_TRUE(verified.ok()) << HostName(i) << ": " << verified.status();
    absl::StatusOr<std::string> names = Host(i).RunOk(
        {"openssl", "x509", "-noout", "-ext", "subjectAltName", "-in",
         absl::StrCat(kTls, "/host.crt")});
    ASSERT_TRUE(names.ok()) << HostName(i) << ": " << names.status();
    EXPECT_TRUE(absl::StrContains(*names, absl::StrCat("DNS:", HostName(i))) &&
                absl::StrContains(*names, absl::StrCat("urn:pyservice:agent:", HostName(i))))
        << HostName(i) << ": " << *names;
    absl::StatusOr<std::string> key_mode =
        Host(i).RunOk({"stat", "-c", "%a", absl::StrCat(kTls, "/host.key")});
    EXPECT_EQ(key_mode.value_or(""), "600\n") << HostName(i);
  }
  const ProcessResult hosts = Pyctl({"get", "hosts", "-o", "json"});
  ASSERT_TRUE(hosts.Succeeded()) << Describe(hosts);
  absl::StatusOr<JsonValue> json = ParseJson(hosts.stdout_text);
  ASSERT_TRUE(json.ok() && json->kind_case() == JsonValue::kListValue) << hosts.stdout_text;
  ASSERT_EQ(json->list_value().values_size(), kHosts) << hosts.stdout_text;
  for (const JsonValue& host : json->list_value().values()) {
    const JsonValue* labels = Member(host, "labels");
    ASSERT_NE(labels, nullptr) << hosts.stdout_text;
    EXPECT_EQ(Field(*labels, "role"), "web") << hosts.stdout_text;
    EXPECT_EQ(labels->struct_value().fields_size(), 1) << hosts.stdout_text;
  }
}

TEST_F(FleetE2eTest, ApplyDeploysToAllThreeHostsAndStatusShowsThemHealthy) {
  ASSERT_TRUE(Eventually(AllConnected, absl::Seconds(30)))
      << "agents did not connect\n" << Diagnostics();
  std::string raw;
  const std::map<std::string, std::string> connected = Connected(&raw);
  EXPECT_EQ(connected.size(), static_cast<size_t>(kHosts)) << raw;

  const ProcessResult applied = Apply();
  ASSERT_TRUE(applied.Succeeded()) << Describe(applied) << Diagnostics();
  const bool fresh = absl::StrContains(applied.stdout_text, "healthy");
  if (fresh) {
    // pyctl showed every host reaching healthy.
    for (int i = 0; i < kHosts; ++i) {
      EXPECT_TRUE(absl::StrContains(applied.stdout_text, absl::StrCat(HostName(i), ": healthy")))
          << Describe(applied);
    }
  }

  const std::map<std::string, JsonValue> status = StatusByHost(&raw);
  ASSERT_EQ(status.size(), static_cast<size_t>(kHosts)) << raw;
  for (int i = 0; i < kHosts; ++i) {
    EXPECT_TRUE(HostHealthy(status, HostName(i))) << HostName(i) << "\n" << raw;
    EXPECT_EQ(Field(status.at(HostName(i)), "tag"), "v1") << raw;
    EXPECT_EQ(Field(status.at(HostName(i)), "commit"), GetHelloRepos().commits.at("v1")) << raw;
    absl::StatusOr<std::string> body = HttpGet(i);
    ASSERT_TRUE(body.ok()) << HostName(i) << ": " << body.status();
    EXPECT_EQ(*body, "hello v1\n") << HostName(i);
    EXPECT_EQ(ShowUnit(i, "ActiveState"), "active") << HostName(i);
  }

  // The whole-fleet view lists the app with the same three hosts.
  const ProcessResult all = Pyctl({"status", "-o", "json"});
  ASSERT_TRUE(all.Succeeded()) << Describe(all);
  EXPECT_TRUE(absl::StrContains(all.stdout_text, "\"hello\"")) << all.stdout_text;
  for (int i = 0; i < kHosts; ++i) {
    EXPECT_TRUE(absl::StrContains(all.stdout_text, absl::StrCat("\"", HostName(i), "\"")))
        << all.stdout_text;
  }
}

// The pyservice-agent binary's own /metrics (127.0.0.1:9465 in its host)
// after it deployed the app: promtool accepts it, and a real Prometheus in
// the host's network namespace scrapes it and sees the deploy, the app's
// health and the controller link.
TEST_F(FleetE2eTest, AgentServesMetricsThatPromtoolAcceptsAndPrometheusScrapes) {
  ASSERT_NO_FATAL_FAILURE(EnsureDeployed());
  constexpr int kHost = 0;
  absl::StatusOr<std::string> text = Host(kHost).RunOk(
      {"curl", "--silent", "--show-error", "--fail", "http://127.0.0.1:9465/metrics"});
  ASSERT_TRUE(text.ok()) << text.status();
  ExpectPromtoolAccepts(*text);

  TempDir dir;
  constexpr int kPrometheusPort = 19090;  // in the host's own network namespace
  absl::StatusOr<std::unique_ptr<ChildProcess>> prometheus = StartPrometheus(
      {.dir = dir.path(),
       .jobs = {{"agent", "127.0.0.1:9465"}},
       .port = kPrometheusPort,
       .argv_prefix = {FindTool("nsenter"), absl::StrCat("--net=/proc/", Host(kHost).systemd_pid(),
                                                "/ns/net")}});
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();
  const auto query = [&](const std::string& promql) {
    absl::StatusOr<std::string> body = Host(kHost).RunOk(
        {"curl", "--silent", "--fail", "--max-time", "3",
         absl::StrCat("http://127.0.0.1:", kPrometheusPort, PrometheusQueryPath(promql))});
    return body.ok() ? PrometheusSampleValue(*body) : "";
  };
  ASSERT_TRUE(Eventually([&] { return query("up{job=\"agent\"}") == "1"; }, absl::Seconds(60)))
      << (*prometheus)->ReadStderr();
  EXPECT_EQ(query("pyservice_agent_controller_connected"), "1");
  EXPECT_EQ(query("pyservice_agent_app_health{app=\"hello\",state=\"healthy\"}"), "1");
  EXPECT_EQ(query("pyservice_agent_deploys_total{app=\"hello\",result=\"succeeded\"} >= bool 1"),
            "1")
      << *text;
  EXPECT_EQ(query("sum(pyservice_agent_step_duration_seconds_count) > bool 0"), "1") << *text;
}

TEST_F(FleetE2eTest, UnitStoppedByHandShowsAsThatHostsHealthAndRecovers) {
  ASSERT_NO_FATAL_FAILURE(EnsureDeployed());
  constexpr int kVictim = 1;
  ASSERT_TRUE(Host(kVictim).RunOk({"systemctl", "stop", kAppUnit}).ok());

  std::string raw;
  ASSERT_TRUE(Eventually(
      [&] {
        auto status = StatusByHost(&raw);
        auto it = status.find(HostName(kVictim));
        if (it == status.end()) return false;
        const std::string health = Field(it->second, "health");
        return (health == "failed" || health == "degraded") && UnitState(it->second) != "active";
      },
      absl::Seconds(10)))
      << "the stopped unit did not show within 10 s\n" << raw << Diagnostics();
  // Only that host.
  {
    auto status = StatusByHost(&raw);
    for (int i = 0; i < kHosts; ++i) {
      if (i != kVictim) {
        EXPECT_TRUE(HostHealthy(status, HostName(i))) << raw;
      }
    }
  }

  // Started again by hand: healthy again.
  ASSERT_TRUE(Host(kVictim).RunOk({"systemctl", "start", kAppUnit}).ok());
  EXPECT_TRUE(Eventually([&] { return AllHealthy(StatusByHost(&raw)); }, absl::Seconds(30)))
      << raw << Diagnostics();
}

TEST_F(FleetE2eTest, StoppedAgentIsFlaggedLostWhileItsAppKeepsServing) {
  ASSERT_NO_FATAL_FAILURE(EnsureDeployed());
  constexpr int kVictim = 2;
  const std::string pid_before = ShowUnit(kVictim, "MainPID");
  ASSERT_TRUE(
      Host(kVictim).RunOk({"systemctl", "stop", kAgentUnit}, {.timeout = absl::Seconds(30)}).ok());

  std::string raw;
  ASSERT_TRUE(Eventually([&] { return Connected(&raw)[HostName(kVictim)] == "false"; },
                         absl::Seconds(15)))
      << "the host was not flagged lost within 15 s\n" << raw << Diagnostics();
  std::map<std::string, std::string> connected = Connected(&raw);
  for (int i = 0; i < kHosts; ++i) {
    if (i != kVictim) {
      EXPECT_EQ(connected[HostName(i)], "true") << raw;
    }
  }
  // Nothing was stopped on it: the app still serves, same process.
  absl::StatusOr<std::string> body = HttpGet(kVictim);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, "hello v1\n");
  EXPECT_EQ(ShowUnit(kVictim, "MainPID"), pid_before);
  EXPECT_EQ(ShowUnit(kVictim, "ActiveState"), "active");
  // A few heartbeats later it is still lost and still serving.
  absl::SleepFor(absl::Seconds(4));
  EXPECT_EQ(Connected(&raw)[HostName(kVictim)], "false") << raw;
  EXPECT_TRUE(HttpGet(kVictim).ok());

  // The agent back: the host reconnects, the app healthy, not redeployed.
  ASSERT_TRUE(
      Host(kVictim).RunOk({"systemctl", "start", kAgentUnit}, {.timeout = absl::Seconds(30)}).ok());
  EXPECT_TRUE(Eventually(AllConnected, absl::Seconds(30))) << Diagnostics();
  EXPECT_TRUE(Eventually([&] { return AllHealthy(StatusByHost(&raw)); }, absl::Seconds(30)))
      << raw << Diagnostics();
  EXPECT_EQ(ShowUnit(kVictim, "MainPID"), pid_before);
}

TEST_F(FleetE2eTest, ControllerRestartRedeploysNothing) {
  ASSERT_NO_FATAL_FAILURE(EnsureDeployed());
  std::vector<std::string> pids, since;
  for (int i = 0; i < kHosts; ++i) {
    pids.push_back(ShowUnit(i, "MainPID"));
    since.push_back(ShowUnit(i, "ActiveEnterTimestampMonotonic"));
    ASSERT_NE(pids.back(), "0") << HostName(i);
  }

  absl::StatusOr<ExitStatus> exit = fleet().StopController();
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->Describe(), "exit status 0") << fleet().controller().ReadStderr();
  // While it is away the apps keep serving.
  for (int i = 0; i < kHosts; ++i) EXPECT_TRUE(HttpGet(i).ok()) << HostName(i);

  ASSERT_TRUE(fleet().StartController().ok()) << fleet().controller().ReadStderr();
  EXPECT_TRUE(Eventually(AllConnected, absl::Seconds(60))) << Diagnostics();
  std::string raw;
  EXPECT_TRUE(Eventually([&] { return AllHealthy(StatusByHost(&raw)); }, absl::Seconds(30)))
      << raw << Diagnostics();
  // Give a wrongful redeploy time to happen, then look.
  absl::SleepFor(absl::Seconds(5));
  for (int i = 0; i < kHosts; ++i) {
    EXPECT_EQ(ShowUnit(i, "MainPID"), pids[i]) << HostName(i) << Diagnostics();
    EXPECT_EQ(ShowUnit(i, "ActiveEnterTimestampMonotonic"), since[i]) << HostName(i);
  }
  EXPECT_TRUE(AllHealthy(StatusByHost(&raw))) << raw;
  // Applying the same file again is no change.
  const ProcessResult again = Pyctl({"apply", fleet().app_yaml_path(), "-o", "json"});
  ASSERT_TRUE(again.Succeeded()) << Describe(again);
  EXPECT_TRUE(absl::StrContains(again.stdout_text, "\"changed\": false") ||
              absl::StrContains(again.stdout_text, "\"changed\":false"))
      << again.stdout_text;
}

}  // namespace
}  // namespace pyservice::testing
