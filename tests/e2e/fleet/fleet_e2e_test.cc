// The fleet end to end: the real pyservice-controller on this machine,
// listening on a Unix socket; three real systemd test hosts (each with its
// own network namespace), each running the real pyservice-agent installed
// from deploy/systemd/pyservice-agent.service and dialing the controller
// over the socket's directory bound into the host; the real pyctl binary.
//
// Hosts boot once per test binary run (SetUpTestSuite); CTest runs every
// test in a process of its own, so each test first makes sure the app is
// deployed (`pyctl apply` of an unchanged app changes nothing).
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/process/subprocess.h"
#include "gtest/gtest.h"
#include "tests/e2e/agent/hello_app.h"
#include "tests/e2e/testing/test_host.h"
#include "tests/testing/child_process.h"
#include "tests/testing/json.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::testing {
namespace {

constexpr int kHosts = 3;
constexpr char kAppUnit[] = "hello-web.service";
constexpr char kAgentUnit[] = "pyservice-agent.service";
constexpr int kPort = 8000;

std::string HostName(int i) { return absl::StrCat("web-", i + 1); }

std::string ReadOuterFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string AgentPathInHost() {
  return absl::StrCat(
      "/opt/pyservice/",
      std::filesystem::path(AGENT_BIN).lexically_relative(PYSERVICE_BINARY_DIR).string());
}

std::string AppYaml() {
  return absl::StrCat(R"(name: hello
module: hello
repo: file:///srv/git/hello.git
tag: v1
services:
  - name: web
    description: "Serve {{ app_name }} over HTTP"
    command: "python -m {{ app_module }} --config {{ app_config }} web"
config:
  port: )",
                      kPort, R"(
targets:
  labels: {role: web}
health:
  min_healthy: 2s
  http: "http://127.0.0.1:)",
                      kPort, R"(/healthz"
  deadline: 2m
)");
}

template <typename Condition>
bool Eventually(Condition condition, absl::Duration timeout,
                absl::Duration interval = absl::Milliseconds(250)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(interval);
  }
}

class FleetE2eTest : public ::testing::Test {
 protected:
  struct Suite {
    TempDir dir;
    std::string run_dir;   // the controller's socket; /run/pyservice in hosts
    std::string data_dir;  // the controller's store, kept across restarts
    std::string config;    // the controller's config file
    std::string app_yaml;
    std::unique_ptr<ChildProcess> controller;
    int controller_starts = 0;
    std::vector<std::unique_ptr<TestHost>> hosts;
    std::string error;  // why set-up failed; every test fails with it
  };
  static Suite* suite_;

  static void SetUpTestSuite() {
    suite_ = new Suite;
    Suite& s = *suite_;
    s.run_dir = s.dir.Join("run");
    s.data_dir = s.dir.Join("data");
    std::filesystem::create_directories(s.run_dir);
    // A symlink to the agent as the host sees it, bound over the host's
    // /usr/local/bin (the unit's ExecStart path; /usr is read-only there).
    const std::string bin_dir = s.dir.Join("bin");
    std::filesystem::create_directories(bin_dir);
    std::filesystem::create_symlink(AgentPathInHost(), bin_dir + "/pyservice-agent");
    s.config = s.dir.Join("controller.yaml");
    std::ofstream(s.config) << "listen: [unix:" << s.run_dir << "/controller.sock]\n"
                            << "data_dir: " << s.data_dir << "\n"
                            << "heartbeat_interval: 1s\nlog_level: debug\n";
    s.app_yaml = s.dir.Join("hello.yaml");
    std::ofstream(s.app_yaml) << AppYaml();

    const HelloRepos& repos = GetHelloRepos();
    if (::testing::Test::HasFatalFailure() || repos.commits.count("v1") == 0) {
      s.error = "could not build the hello git repository";
      return;
    }
    if (absl::Status started = StartController(); !started.ok()) {
      s.error = started.ToString();
      return;
    }
    const std::string unit_file =
        ReadOuterFile(absl::StrCat(PYSERVICE_SOURCE_DIR, "/deploy/systemd/pyservice-agent.service"));
    if (unit_file.empty()) {
      s.error = "cannot read deploy/systemd/pyservice-agent.service";
      return;
    }
    for (int i = 0; i < kHosts; ++i) {
      auto host = TestHost::Boot(
          {.binds = {{.source = PYSERVICE_BINARY_DIR, .target = "/opt/pyservice"},
                     {.source = s.run_dir, .target = "/run/pyservice", .read_only = false},
                     {.source = repos.dir, .target = "/srv/git"},
                     {.source = bin_dir, .target = "/usr/local/bin"}},
           .private_network = true,
           .masked_units = {"ssh.service", "ssh.socket"}});
      if (!host.ok()) {
        s.error = absl::StrCat("host ", HostName(i), " did not boot: ", host.status().ToString());
        return;
      }
      TestHost& h = **host;
      s.hosts.push_back(std::move(*host));
      absl::Status installed = h.WriteFile("/etc/systemd/system/pyservice-agent.service", unit_file);
      if (installed.ok()) {
        installed = h.WriteFile("/etc/pyservice/agent.yaml",
                                absl::StrCat("controller: unix:/run/pyservice/controller.sock\n"
                                             "host: ",
                                             HostName(i),
                                             "\nlabels: {role: web}\n"
                                             "pip_options: [--no-index]\n"
                                             "log_level: debug\n"));
      }
      if (installed.ok()) installed = h.RunOk({"systemctl", "daemon-reload"}).status();
      if (installed.ok()) {
        installed = h.RunOk({"systemctl", "start", kAgentUnit}, {.timeout = absl::Seconds(30)}).status();
      }
      if (!installed.ok()) {
        s.error = absl::StrCat("installing the agent in ", HostName(i), ": ", installed.ToString(),
                               "\n", Journal(i, kAgentUnit));
        return;
      }
    }
  }

  static void TearDownTestSuite() {
    if (suite_ == nullptr) return;
    for (auto& host : suite_->hosts) (void)host->Stop();
    suite_->hosts.clear();
    if (suite_->controller) {
      (void)suite_->controller->Signal(SIGTERM);
      (void)suite_->controller->WaitForExit(absl::Seconds(20));
    }
    delete suite_;
    suite_ = nullptr;
  }

  void SetUp() override { ASSERT_TRUE(suite_->error.empty()) << suite_->error; }

  static absl::Status StartController() {
    Suite& s = *suite_;
    ChildProcessOptions options;
    options.argv = {CONTROLLER_BIN, "--config", s.config};
    options.output_dir = s.dir.path();
    options.name = absl::StrCat("controller-", ++s.controller_starts);
    absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(options);
    if (!child.ok()) return child.status();
    s.controller = std::move(*child);
    return s.controller->WaitForStderrLine("listening on unix:", absl::Seconds(20)).status();
  }

  static TestHost& Host(int i) { return *suite_->hosts[i]; }

  static std::string Journal(int i, const std::string& unit) {
    auto logs = Host(i).Run({"journalctl", "--unit", unit, "--no-pager", "--output", "cat",
                             "--lines", "60"});
    return absl::StrCat("--- journal of ", unit, " on ", HostName(i), ":\n",
                        logs.ok() ? logs->stdout_text : logs.status().ToString());
  }

  static std::string Diagnostics() {
    std::string out = absl::StrCat("--- controller stderr (tail):\n",
                                   Tail(suite_->controller->ReadStderr(), 40));
    for (int i = 0; i < static_cast<int>(suite_->hosts.size()); ++i) {
      absl::StrAppend(&out, Journal(i, kAgentUnit));
    }
    return out;
  }

  static std::string Tail(const std::string& text, int lines) {
    std::vector<std::string> all = absl::StrSplit(text, '\n');
    if (static_cast<int>(all.size()) > lines) all.erase(all.begin(), all.end() - lines);
    return absl::StrJoin(all, "\n");
  }

  // pyctl ARGS against the controller, with a time limit.
  static ProcessResult Pyctl(std::vector<std::string> args, int timeout_seconds = 30) {
    ProcessOptions options;
    options.argv = {"timeout", "-s", "KILL", std::to_string(timeout_seconds), PYCTL_BIN};
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.argv.insert(options.argv.end(),
                        {"--controller", absl::StrCat("unix:", suite_->run_dir, "/controller.sock")});
    absl::StatusOr<ProcessResult> result = RunProcess(options);
    if (!result.ok()) {
      ProcessResult failed;
      failed.exit_code = 127;
      failed.stderr_text = result.status().ToString();
      return failed;
    }
    return *result;
  }

  static std::string Describe(const ProcessResult& result) {
    return absl::StrCat(result.Describe(), "\n--- stdout:\n", result.stdout_text,
                        "--- stderr:\n", result.stderr_text);
  }

  // `pyctl status hello -o json` as host -> its object; empty on failure.
  static std::map<std::string, JsonValue> StatusByHost(std::string* raw = nullptr) {
    const ProcessResult result = Pyctl({"status", "hello", "-o", "json"});
    if (raw != nullptr) *raw = Describe(result);
    std::map<std::string, JsonValue> by_host;
    if (!result.Succeeded()) return by_host;
    absl::StatusOr<JsonValue> json = ParseJson(result.stdout_text);
    if (!json.ok()) return by_host;
    const auto& fields = json->struct_value().fields();
    auto hosts = fields.find("hosts");
    if (hosts == fields.end()) return by_host;
    for (const JsonValue& host : hosts->second.list_value().values()) {
      by_host[host.struct_value().fields().at("host").string_value()] = host;
    }
    return by_host;
  }

  static std::string Field(const JsonValue& object, const std::string& key) {
    const auto& fields = object.struct_value().fields();
    auto it = fields.find(key);
    if (it == fields.end()) return "";
    switch (it->second.kind_case()) {
      case JsonValue::kBoolValue:
        return it->second.bool_value() ? "true" : "false";
      case JsonValue::kNumberValue:
        return absl::StrCat(it->second.number_value());
      default:
        return it->second.string_value();
    }
  }

  // The active_state of kAppUnit in a host's status object ("" if absent).
  static std::string UnitState(const JsonValue& host) {
    const auto& fields = host.struct_value().fields();
    auto units = fields.find("units");
    if (units == fields.end()) return "";
    for (const JsonValue& unit : units->second.list_value().values()) {
      if (Field(unit, "unit") == kAppUnit) return Field(unit, "active_state");
    }
    return "";
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

  // `pyctl get hosts -o json`: name -> connected ("true"/"false").
  static std::map<std::string, std::string> Connected(std::string* raw = nullptr) {
    const ProcessResult result = Pyctl({"get", "hosts", "-o", "json"});
    if (raw != nullptr) *raw = Describe(result);
    std::map<std::string, std::string> connected;
    if (!result.Succeeded()) return connected;
    absl::StatusOr<JsonValue> json = ParseJson(result.stdout_text);
    if (!json.ok()) return connected;
    for (const JsonValue& host : json->list_value().values()) {
      connected[Field(host, "name")] = Field(host, "connected");
    }
    return connected;
  }

  static bool AllConnected() {
    std::map<std::string, std::string> connected = Connected();
    for (int i = 0; i < kHosts; ++i) {
      if (connected[HostName(i)] != "true") return false;
    }
    return true;
  }

  // `pyctl apply` (the real process, waiting for the deploy); its result.
  static ProcessResult Apply() { return Pyctl({"apply", suite_->app_yaml}, 300); }

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

  static absl::StatusOr<std::string> HttpGet(int i) {
    return Host(i).RunOk({"curl", "--silent", "--show-error", "--fail", "--max-time", "3",
                          absl::StrCat("http://127.0.0.1:", kPort, "/")});
  }

  static std::string ShowUnit(int i, const std::string& property) {
    auto out = Host(i).RunOk({"systemctl", "show", "--value", "-p", property, kAppUnit});
    return out.ok() ? std::string(absl::StripTrailingAsciiWhitespace(*out))
                    : out.status().ToString();
  }
};

FleetE2eTest::Suite* FleetE2eTest::suite_ = nullptr;

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

  ASSERT_TRUE(suite_->controller->Signal(SIGTERM).ok());
  absl::StatusOr<ExitStatus> exit = suite_->controller->WaitForExit(absl::Seconds(20));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->Describe(), "exit status 0") << suite_->controller->ReadStderr();
  // While it is away the apps keep serving.
  for (int i = 0; i < kHosts; ++i) EXPECT_TRUE(HttpGet(i).ok()) << HostName(i);

  ASSERT_TRUE(StartController().ok()) << suite_->controller->ReadStderr();
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
  const ProcessResult again = Pyctl({"apply", suite_->app_yaml, "-o", "json"});
  ASSERT_TRUE(again.Succeeded()) << Describe(again);
  EXPECT_TRUE(absl::StrContains(again.stdout_text, "\"changed\": false") ||
              absl::StrContains(again.stdout_text, "\"changed\":false"))
      << again.stdout_text;
}

}  // namespace
}  // namespace pyservice::testing
