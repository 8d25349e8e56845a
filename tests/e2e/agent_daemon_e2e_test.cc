// pyservice-agent's daemon mode in a real test host: the binary as built
// (main.cc's wiring, the real D-Bus adapter, signals), run inside the host
// as a transient systemd service, dialing a fake controller in this process
// over a Unix socket in a directory bound into the host. Its state dir is
// bound in too, with an app record written here, so the daemon watches a
// real unit through systemd's signals.
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/state/state_store.h"
#include "common/spec/app_spec_parser.h"
#include "common/spec/canonical.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/testing/test_host.h"
#include "tests/testing/fake_agent_controller.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::testing {
namespace {

using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kAgentUnit[] = "smoke-agent.service";

std::string AgentPathInHost() {
  const std::string relative =
      std::filesystem::path(AGENT_BIN).lexically_relative(PYSERVICE_BINARY_DIR).string();
  return absl::StrCat("/opt/pyservice/", relative);
}

// What an earlier deploy of app "smoke" (service "web") left in the state
// dir: the daemon reports it and watches smoke-web.service.
v1::AppSpec SmokeSpec() {
  absl::StatusOr<v1::AppSpec> spec = spec::ParseAppSpec(
      "name: smoke\nrepo: file:///srv/git/smoke.git\ntag: v1\n"
      "services:\n  - name: web\n    command: python -m smoke\n",
      "app.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : v1::AppSpec();
}

void WriteSmokeState(const std::string& state_dir) {
  agent::StateStore store(state_dir);
  ASSERT_TRUE(store.Initialize().ok());
  v1::AppState state;
  state.set_app("smoke");
  v1::ReleaseRecord* live = state.mutable_live();
  live->set_id("v1-aaaaaaaaaaaa");
  live->set_commit(std::string(40, 'a'));
  *live->mutable_spec() = SmokeSpec();
  live->set_spec_digest(spec::UnkeyedSpecDigest(SmokeSpec()));
  live->set_revision(3);
  state.set_last_result("deployed v1-aaaaaaaaaaaa");
  ASSERT_TRUE(store.Save(state).ok());
}

TEST(AgentDaemonE2eTest, ReportsWatchesAndStopsCleanlyOnSigterm) {
  TempDir dir;
  const std::string run_dir = dir.Join("run");
  const std::string state_dir = dir.Join("state");
  std::filesystem::create_directories(run_dir);
  ASSERT_NO_FATAL_FAILURE(WriteSmokeState(state_dir));
  FakeControllerServer server(run_dir + "/controller.sock", /*heartbeat_interval_ms=*/100);
  FakeController& controller = server.controller();

  auto booted = TestHost::Boot(
      {.binds = {{.source = PYSERVICE_BINARY_DIR, .target = "/opt/pyservice"},
                 {.source = run_dir, .target = "/run/pyservice", .read_only = false},
                 {.source = state_dir, .target = "/var/lib/pyservice-agent", .read_only = false}}});
  ASSERT_TRUE(booted.ok()) << booted.status();
  TestHost& host = **booted;
  ASSERT_TRUE(host.WriteFile("/etc/systemd/system/smoke-web.service",
                             "[Service]\nExecStart=/bin/sleep infinity\n")
                  .ok());
  ASSERT_TRUE(host.RunOk({"systemctl", "daemon-reload"}).ok());
  ASSERT_TRUE(host.RunOk({"systemctl", "start", "smoke-web.service"}).ok());
  ASSERT_TRUE(host.WriteFile("/etc/pyservice/agent.yaml",
                             "controller: unix:/run/pyservice/controller.sock\n"
                             "labels: {role: web}\n"
                             "log_level: debug\n")
                  .ok());
  auto journal = [&] {
    auto logs = host.Run({"journalctl", "--unit", kAgentUnit, "--no-pager", "--output", "cat"});
    return logs.ok() ? logs->stdout_text : logs.status().ToString();
  };

  // The exit status, as systemd saw it, is kept for after the stop.
  auto started = host.RunOk(
      {"systemd-run", absl::StrCat("--unit=", kAgentUnit),
       "--property=ExecStopPost=/bin/sh -c 'echo ${EXIT_CODE} ${EXIT_STATUS} > /run/agent.exit'",
       AgentPathInHost(), "--config", "/etc/pyservice/agent.yaml", "--label", "zone=a"});
  ASSERT_TRUE(started.ok()) << started.status();

  const std::optional<v1::AgentMessage> hello =
      controller.WaitFor([](const v1::AgentMessage& m) { return m.has_hello(); });
  ASSERT_TRUE(hello.has_value()) << journal();
  EXPECT_EQ(hello->hello().host(), host.machine_name()) << "the hostname by default";
  EXPECT_THAT(hello->hello().labels(),
              UnorderedElementsAre(Pair("role", "web"), Pair("zone", "a")));
  EXPECT_EQ(hello->hello().agent_version(), PYSERVICE_VERSION_FOR_TESTS);
  ASSERT_EQ(hello->hello().apps_size(), 1) << journal();
  const v1::AppHealth& app = hello->hello().apps(0);
  EXPECT_EQ(app.app(), "smoke");
  EXPECT_EQ(app.revision(), 3u);
  EXPECT_EQ(app.spec_digest(), spec::UnkeyedSpecDigest(SmokeSpec()));
  EXPECT_EQ(app.health(), v1::HEALTH_STATE_HEALTHY) << app.message();
  ASSERT_EQ(app.units_size(), 1);
  EXPECT_EQ(app.units(0).active_state(), "active");
  EXPECT_TRUE(controller.WaitForNth([](const v1::AgentMessage& m) { return m.has_heartbeat(); }, 3))
      << journal();

  // A crash nobody asked for arrives as a signal and is pushed as health.
  ASSERT_TRUE(host.RunOk({"systemctl", "kill", "--signal=KILL", "smoke-web.service"}).ok());
  std::optional<v1::AgentMessage> failed =
      controller.WaitFor(HealthOf("smoke", v1::HEALTH_STATE_FAILED));
  ASSERT_TRUE(failed.has_value()) << journal();
  EXPECT_EQ(failed->health().units(0).active_state(), "failed");
  ASSERT_TRUE(host.RunOk({"systemctl", "start", "smoke-web.service"}).ok());
  EXPECT_TRUE(controller.WaitFor(HealthOf("smoke", v1::HEALTH_STATE_HEALTHY))) << journal();

  // SIGTERM (systemctl stop): a clean stop, exit status 0.
  ASSERT_TRUE(host.RunOk({"systemctl", "stop", kAgentUnit}, {.timeout = absl::Seconds(30)}).ok());
  auto exit = host.ReadFile("/run/agent.exit");
  ASSERT_TRUE(exit.ok()) << exit.status() << "\n" << journal();
  EXPECT_EQ(*exit, "exited 0\n") << journal();
  EXPECT_THAT(journal(), ::testing::HasSubstr("received SIGTERM, stopping"));
}

}  // namespace
}  // namespace pyservice::testing
