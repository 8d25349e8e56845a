// The controller's fleet side end to end, in process (fleet_fixture.h): real
// store, fleet, services and gRPC on a Unix socket, fake agents, the real
// pyctl. The last test runs the real controller binary.
#include <signal.h>

#include <fstream>
#include <set>

#include "tests/integration/fleet_fixture.h"

namespace pyservice {
namespace {
TEST_F(FleetTest, Hello_IsWelcomedWithTheHeartbeatIntervalAndTheHostName) {
  FakeAgentOptions options;
  options.address = address();
  options.host = "h1";
  absl::StatusOr<std::unique_ptr<FakeAgent>> agent = FakeAgent::Start(options);
  ASSERT_TRUE(agent.ok()) << agent.status();
  absl::StatusOr<v1::Welcome> welcome = (*agent)->WaitForWelcome();
  ASSERT_TRUE(welcome.ok()) << welcome.status();
  EXPECT_EQ(welcome->heartbeat_interval_ms(), 5000u);
  EXPECT_EQ(welcome->host(), "h1");
}

TEST_F(FleetTest, Registration_HostIsListedAndPersistedAcrossControllerRestart) {
  Agent("h1", {{"role", "web"}, {"zone", "a"}});
  const std::vector<v1::Host> hosts = Hosts();
  ASSERT_EQ(hosts.size(), 1u);
  EXPECT_EQ(hosts[0].name(), "h1");
  EXPECT_TRUE(hosts[0].connected());
  EXPECT_EQ(hosts[0].labels().at("role"), "web");
  EXPECT_EQ(hosts[0].agent_version(), "fake-1.0");
  const std::string first_seen = hosts[0].first_seen();

  agents_.clear();
  StopController();
  clock_.Advance(absl::Minutes(10));
  StartController();
  const std::vector<v1::Host> after = Hosts();
  ASSERT_EQ(after.size(), 1u) << "known hosts survive a restart";
  EXPECT_EQ(after[0].name(), "h1");
  EXPECT_FALSE(after[0].connected()) << "until it says Hello again";
  EXPECT_EQ(after[0].labels().at("zone"), "a");
  EXPECT_EQ(after[0].first_seen(), first_seen);
}

TEST_F(FleetTest, PyctlGetHosts_HasTheDocumentedJsonShape) {
  Agent("h2", {{"role", "db"}});
  Agent("h1", {{"role", "web"}});
  const ProcessResult result = Pyctl({"get", "hosts", "-o", "json"});
  ASSERT_TRUE(result.Succeeded()) << result.stderr_text;
  absl::StatusOr<JsonValue> json = ParseJson(result.stdout_text);
  ASSERT_TRUE(json.ok()) << json.status();
  ASSERT_EQ(json->list_value().values_size(), 2) << result.stdout_text;
  const JsonValue& h1 = json->list_value().values(0);
  EXPECT_EQ(Fields(h1).at("name").string_value(), "h1");
  EXPECT_TRUE(Fields(h1).at("connected").bool_value());
  EXPECT_EQ(Fields(Fields(h1).at("labels")).at("role").string_value(), "web");
  EXPECT_THAT(Fields(h1).at("last_seen").string_value(), MatchesRegex(kRfc3339));
  EXPECT_EQ(Fields(h1).at("agent_version").string_value(), "fake-1.0");
  const std::vector<std::string> keys =
      KeysInOrder(h1, result.stdout_text.substr(0, result.stdout_text.find("\"h2\"")));
  ASSERT_GE(keys.size(), 5u);
  EXPECT_THAT(std::vector<std::string>(keys.begin(), keys.begin() + 5),
              ElementsAre("name", "connected", "labels", "last_seen", "agent_version"));

  const ProcessResult table = Pyctl({"get", "hosts"});
  EXPECT_THAT(table.stdout_text, HasSubstr("NAME"));
  EXPECT_THAT(table.stdout_text, MatchesRegex("(.|\n)*h1 +yes +role=web +0 .*fake-1.0\n(.|\n)*"));
}

TEST_F(FleetTest, Targeting_OnlyHostsCarryingEveryLabelGetTheApp) {
  FakeAgent& web_a = Agent("web-a", {{"role", "web"}, {"zone", "a"}});
  FakeAgent& web_b = Agent("web-b", {{"role", "web"}, {"zone", "b"}});
  FakeAgent& db = Agent("db-a", {{"role", "db"}, {"zone", "a"}});
  const uint32_t revision = Apply(AppYaml("hello", "v1", "role: web, zone: a"));
  ASSERT_TRUE(web_a.WaitForRevision("hello", revision).ok());
  fleet_->WaitForReconcile();
  EXPECT_EQ(web_a.DeployCount("hello"), 1);
  EXPECT_EQ(web_b.DeployCount("hello"), 0);
  EXPECT_EQ(db.DeployCount("hello"), 0);

  // Every host when the app names no labels.
  const uint32_t other = Apply(AppYaml("other", "v1"));
  for (FakeAgent* agent : {&web_a, &web_b, &db}) {
    EXPECT_TRUE(agent->WaitForRevision("other", other).ok()) << agent->host();
  }
}

TEST_F(FleetTest, DeployRequest_CarriesTheRevisionAndTheFullSpecWithSecrets) {
  FakeAgent& agent = Agent("h1");
  const std::string yaml = AppYaml("hello", "v1") +
                           "files:\n  - dest: \"{{ app_config_dir }}/token\"\n    content: s3cr3t\n";
  const uint32_t revision = Apply(yaml);
  absl::StatusOr<v1::DeployRequest> deploy = agent.WaitForDeploy("hello");
  ASSERT_TRUE(deploy.ok()) << deploy.status();
  EXPECT_EQ(deploy->revision(), revision);
  EXPECT_GT(deploy->deploy_id(), 0u);
  EXPECT_EQ(deploy->spec().tag(), "v1");
  ASSERT_EQ(deploy->spec().files_size(), 1);
  EXPECT_EQ(deploy->spec().files(0).content(), "s3cr3t") << "agents get the real secrets";
}

TEST_F(FleetTest, DeployIds_AreUniqueAndIncreasing) {
  FakeAgent& agent = Agent("h1");
  Apply(AppYaml("hello", "v1"));
  ASSERT_TRUE(agent.WaitForRevision("hello", 1).ok());
  Apply(AppYaml("hello", "v2"));
  ASSERT_TRUE(agent.WaitForRevision("hello", 2).ok());
  const absl::StatusOr<v1::DeployRequest> first = agent.WaitForDeploy("hello", 0);
  const absl::StatusOr<v1::DeployRequest> second = agent.WaitForDeploy("hello", 1);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_LT(first->deploy_id(), second->deploy_id());
}

TEST_F(FleetTest, LateJoiner_HostConnectingAfterTheApplyGetsTheApp) {
  const uint32_t revision = Apply(AppYaml("hello", "v1", "role: web"));
  FakeAgent& late = Agent("late", {{"role", "web"}});
  EXPECT_TRUE(late.WaitForRevision("hello", revision).ok());
  EXPECT_EQ(late.DeployCount("hello"), 1);
}

TEST_F(FleetTest, WatchApp_StreamsStepProgressUntilEveryHostIsHealthy) {
  FakeAgent& h1 = Agent("h1");
  FakeAgent& h2 = Agent("h2");
  h1.HoldDeploys();
  h2.HoldDeploys();
  const uint32_t revision = Apply(AppYaml("hello", "v1"));

  // Both deploys are held in their first step; release them once the watch
  // has shown that step running on each host.
  std::map<std::string, v1::HostDeployProgress> latest;
  std::set<std::string> seen_running;
  std::vector<v1::WatchAppEvent> events;
  const grpc::Status status = Watch("hello", revision, &events, [&](const v1::WatchAppEvent& event) {
    for (const v1::HostDeployProgress& progress : event.hosts()) {
      latest[progress.host()] = progress;
      if (progress.state() == v1::HOST_DEPLOY_STATE_DEPLOYING && progress.step() == "checkout" &&
          progress.step_state() == v1::STEP_STATE_RUNNING) {
        seen_running.insert(progress.host());
      }
    }
    if (seen_running.size() == 2) {
      h1.ReleaseDeploys();
      h2.ReleaseDeploys();
    }
  });
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().targeted(), 2u);
  EXPECT_THAT(seen_running, ElementsAre("h1", "h2"));
  const v1::WatchAppEvent& last = events.back();
  EXPECT_TRUE(last.done());
  EXPECT_EQ(last.healthy(), 2u);
  EXPECT_EQ(last.failed(), 0u);
  EXPECT_EQ(latest["h1"].state(), v1::HOST_DEPLOY_STATE_HEALTHY);
  EXPECT_EQ(latest["h2"].state(), v1::HOST_DEPLOY_STATE_HEALTHY);
  for (size_t i = 0; i + 1 < events.size(); ++i) EXPECT_FALSE(events[i].done());
}

TEST_F(FleetTest, WatchApp_EndsAtOnceWhenNoHostIsTargeted) {
  Agent("h1", {{"role", "db"}});
  const uint32_t revision = Apply(AppYaml("hello", "v1", "role: web"));
  std::vector<v1::WatchAppEvent> events;
  const grpc::Status status = Watch("hello", revision, &events);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].done());
  EXPECT_EQ(events[0].targeted(), 0u);
  EXPECT_EQ(events[0].hosts_size(), 0);
}

TEST_F(FleetTest, WatchApp_OfAnOldOrUnknownRevisionIsRefused) {
  Apply(AppYaml("hello", "v1"));
  Apply(AppYaml("hello", "v2"));
  std::vector<v1::WatchAppEvent> events;
  EXPECT_EQ(Watch("hello", 1, &events).error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(Watch("hello", 3, &events).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Watch("nope", 0, &events).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Watch("Bad Name", 0, &events).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(events.empty());
}

TEST_F(FleetTest, WatchApp_EndsAbortedWhenANewerRevisionIsApplied) {
  FakeAgent& h1 = Agent("h1");
  h1.HoldDeploys();
  const uint32_t revision = Apply(AppYaml("hello", "v1"));
  std::vector<v1::WatchAppEvent> events;
  bool applied = false;
  const grpc::Status status = Watch("hello", revision, &events, [&](const v1::WatchAppEvent&) {
    if (!applied) {
      applied = true;
      Apply(AppYaml("hello", "v2"));
    }
  });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("superseded by revision 2"));
  h1.ReleaseDeploys();
  EXPECT_TRUE(h1.WaitForRevision("hello", 2).ok()) << "v2 follows once v1's deploy ends";
}

TEST_F(FleetTest, PyctlApply_ShowsLiveStepProgressAndWaitsUntilEveryHostIsHealthy) {
  FakeAgent& h1 = Agent("h1");
  FakeAgent& h2 = Agent("h2");
  h1.HoldDeploys();
  WriteFile("app.yaml", AppYaml("hello", "v1"));
  testing::ChildProcessOptions options;
  options.argv = {PYCTL_BIN, "--controller", address(), "apply", dir_.Join("app.yaml")};
  options.env = testing::EnvironmentWithout("PYCTL_CONTROLLER");
  options.output_dir = dir_.path();
  options.name = "pyctl-apply";
  absl::StatusOr<std::unique_ptr<testing::ChildProcess>> pyctl =
      testing::ChildProcess::Start(options);
  ASSERT_TRUE(pyctl.ok()) << pyctl.status();

  // h1 is held in checkout: pyctl shows it live and keeps waiting.
  EXPECT_TRUE(Eventually([&] {
    return absl::StrContains((*pyctl)->ReadStdout(), "h1: checkout running\n");
  })) << (*pyctl)->ReadStdout();
  EXPECT_TRUE(Eventually([&] {
    return absl::StrContains((*pyctl)->ReadStdout(), "h2: healthy\n");
  })) << (*pyctl)->ReadStdout();
  EXPECT_THAT((*pyctl)->ReadStdout(), Not(HasSubstr("h1: healthy")));

  h1.ReleaseDeploys();
  absl::StatusOr<testing::ExitStatus> exit = (*pyctl)->WaitForExit(absl::Seconds(20));
  ASSERT_TRUE(exit.ok()) << exit.status();
  const std::string out = (*pyctl)->ReadStdout();
  EXPECT_EQ(exit->Describe(), "exit status 0") << out << (*pyctl)->ReadStderr();
  EXPECT_THAT(out, StartsWith("hello: revision 1 created\n"));
  EXPECT_THAT(out, HasSubstr("h1: healthy\n"));
  EXPECT_THAT(out, HasSubstr("hello revision 1: 2 healthy, 0 failed, of 2 host(s)\n"));
  (void)h2;
}

TEST_F(FleetTest, PyctlApply_FailedHostExitsNonZeroNamingHostAndStepAndIsNotRetried) {
  Agent("h1");
  FakeAgent& h2 = Agent("h2");
  h2.FailApp("hello", "verify", "hello-web.service entered failed state");
  WriteFile("app.yaml", AppYaml("hello", "v1"));
  const ProcessResult result = Pyctl({"apply", "app.yaml"});
  EXPECT_EQ(result.exit_code, 1) << result.stdout_text;
  EXPECT_THAT(result.stdout_text, HasSubstr("h1: healthy\n"));
  EXPECT_THAT(result.stdout_text,
              HasSubstr("h2: failed at verify: hello-web.service entered failed state\n"));
  EXPECT_EQ(result.stderr_text,
            "pyctl: hello revision 1 failed on h2 (step verify: hello-web.service entered "
            "failed state)\n");

  // Later reconcile passes (another app's apply reconciles every host) do
  // not send it again: once "other" arrives, a retry would have too.
  Agent("h3");
  ASSERT_TRUE(agents_.back()->WaitForRevision("hello", 1).ok());
  Apply(AppYaml("other", "v1"));
  ASSERT_TRUE(h2.WaitForRevision("other", 1).ok());
  EXPECT_EQ(h2.DeployCount("hello"), 1) << "a failed revision is not retried";

  // A newer revision is.
  h2.SucceedApp("hello");
  WriteFile("app.yaml", AppYaml("hello", "v2"));
  const ProcessResult fixed = Pyctl({"apply", "app.yaml", "-o", "json"});
  EXPECT_TRUE(fixed.Succeeded()) << fixed.stdout_text << fixed.stderr_text;
  EXPECT_EQ(h2.DeployCount("hello"), 2);
  absl::StatusOr<JsonValue> json = ParseJson(fixed.stdout_text);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(Fields(*json).at("hosts").list_value().values_size(), 3);
}

TEST_F(FleetTest, PyctlApply_NoWaitReturnsOnceStored) {
  FakeAgent& h1 = Agent("h1");
  h1.HoldDeploys();
  WriteFile("app.yaml", AppYaml("hello", "v1"));
  const ProcessResult result = Pyctl({"apply", "app.yaml", "--no-wait"});
  EXPECT_TRUE(result.Succeeded()) << result.stderr_text;
  EXPECT_THAT(result.stdout_text, Not(HasSubstr("h1:")));
  h1.ReleaseDeploys();
}

TEST_F(FleetTest, DeleteApp_SendsRemoveRequestToHostsRunningIt) {
  FakeAgent& h1 = Agent("h1");
  FakeAgent& h2 = Agent("h2");
  Apply(AppYaml("hello", "v1"));
  Apply(AppYaml("keep", "v1"));
  ASSERT_TRUE(h1.WaitForRevision("hello", 1).ok());
  ASSERT_TRUE(h2.WaitForRevision("hello", 1).ok());
  ASSERT_TRUE(h2.WaitForRevision("keep", 1).ok());

  const ProcessResult deleted = Pyctl({"delete", "app", "hello"});
  ASSERT_TRUE(deleted.Succeeded()) << deleted.stderr_text;
  for (FakeAgent* agent : {&h1, &h2}) {
    absl::StatusOr<v1::RemoveRequest> remove = agent->WaitForRemove("hello");
    ASSERT_TRUE(remove.ok()) << remove.status();
    EXPECT_GT(remove->deploy_id(), 0u);
    EXPECT_TRUE(agent->WaitForRevision("hello", 0).ok());
  }
  EXPECT_TRUE(Eventually([&] {
    v1::GetStatusRequest request;
    v1::GetStatusResponse response;
    grpc::ClientContext context;
    stub_->GetStatus(&context, request, &response);
    return response.apps_size() == 1 && response.apps(0).app() == "keep";
  })) << "the removal is recorded: no host reports hello any more";
  fleet_->WaitForReconcile();
  EXPECT_EQ(h1.RemoveCount("hello"), 1);
  EXPECT_EQ(h2.RemoveCount("keep"), 0);
}

TEST_F(FleetTest, LabelChange_HostNoLongerTargetedGetsRemoveRequestOnItsNextHello) {
  const uint32_t revision = Apply(AppYaml("hello", "v1", "role: web"));
  {
    FakeAgent& h1 = Agent("h1", {{"role", "web"}});
    ASSERT_TRUE(h1.WaitForRevision("hello", revision).ok());
    const auto runs = h1.apps();
    agents_.clear();
    // Same host, relabelled, with its state dir.
    FakeAgentOptions options;
    options.address = address();
    options.host = "h1";
    options.labels = {{"role", "db"}};
    options.apps = runs;
    absl::StatusOr<std::unique_ptr<FakeAgent>> again = FakeAgent::Start(options);
    ASSERT_TRUE(again.ok());
    agents_.push_back(*std::move(again));
  }
  EXPECT_TRUE(agents_.back()->WaitForRemove("hello").ok());
  EXPECT_EQ(agents_.back()->DeployCount("hello"), 0);
}

TEST_F(FleetTest, ControllerRestart_RedeploysNothingTheHostsAlreadyRun) {
  std::map<std::string, std::map<std::string, v1::AppHealth>> state;
  {
    FakeAgent& h1 = Agent("h1");
    FakeAgent& h2 = Agent("h2");
    const uint32_t revision = Apply(AppYaml("hello", "v1"));
    ASSERT_TRUE(h1.WaitForRevision("hello", revision).ok());
    ASSERT_TRUE(h2.WaitForRevision("hello", revision).ok());
    state["h1"] = h1.apps();
    state["h2"] = h2.apps();
  }
  agents_.clear();
  StopController();
  StartController();

  // The agents come back with what their state dirs say they run.
  FakeAgent& h1 = Agent("h1", {}, state["h1"]);
  FakeAgent& h2 = Agent("h2", {}, state["h2"]);
  // A marker app deployed afterwards: once it arrives, any redeploy of
  // hello (planned in the same pass or an earlier one, and written first
  // on the same stream) would have arrived too.
  Apply(AppYaml("marker", "v1"));
  ASSERT_TRUE(h1.WaitForRevision("marker", 1).ok());
  ASSERT_TRUE(h2.WaitForRevision("marker", 1).ok());
  EXPECT_EQ(h1.DeployCount("hello"), 0);
  EXPECT_EQ(h2.DeployCount("hello"), 0);
  const v1::AppStatus status = Status("hello");
  ASSERT_EQ(status.hosts_size(), 2);
  for (const v1::HostAppStatus& host : status.hosts()) {
    EXPECT_EQ(host.state(), v1::HOST_DEPLOY_STATE_HEALTHY) << host.host();
  }
}

TEST_F(FleetTest, NewerSession_ReplacesTheOldOneWhichEndsAborted) {
  FakeAgent& old_session = Agent("h1");
  FakeAgent& new_session = Agent("h1");
  absl::StatusOr<grpc::Status> ended = old_session.WaitForEnd();
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_EQ(ended->error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(ended->error_message(), HasSubstr("replaced by a newer session"));
  EXPECT_TRUE(HostConnected("h1")) << "the old session's end leaves the new one connected";
  const uint32_t revision = Apply(AppYaml("hello", "v1"));
  EXPECT_TRUE(new_session.WaitForRevision("hello", revision).ok());
}

TEST_F(FleetTest, Identity_HelloClaimingAnotherHostIsRefusedWithPermissionDenied) {
  FakeAgentOptions options;
  options.address = address();
  options.host = "h2";
  options.metadata = {{kIdentityHeader, "h1"}};
  absl::StatusOr<std::unique_ptr<FakeAgent>> liar = FakeAgent::Start(options);
  ASSERT_TRUE(liar.ok());
  absl::StatusOr<v1::Welcome> welcome = (*liar)->WaitForWelcome();
  EXPECT_EQ(welcome.status().code(), absl::StatusCode::kPermissionDenied) << welcome.status();
  EXPECT_THAT(welcome.status().message(), HasSubstr("\"h2\" is not this client's identity"));
  EXPECT_TRUE(Hosts().empty()) << "a refused Hello registers nothing";

  options.host = "h1";
  absl::StatusOr<std::unique_ptr<FakeAgent>> honest = FakeAgent::Start(options);
  ASSERT_TRUE(honest.ok());
  absl::StatusOr<v1::Welcome> accepted = (*honest)->WaitForWelcome();
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->host(), "h1");

  // An empty name in Hello takes the identity's.
  options.host = "";
  options.metadata = {{kIdentityHeader, "h3"}};
  absl::StatusOr<std::unique_ptr<FakeAgent>> anonymous = FakeAgent::Start(options);
  ASSERT_TRUE(anonymous.ok());
  absl::StatusOr<v1::Welcome> named = (*anonymous)->WaitForWelcome();
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(named->host(), "h3");
}

TEST_F(FleetTest, Protocol_FirstMessageOtherThanHelloIsInvalidArgument) {
  FakeAgentOptions options;
  options.address = address();
  options.host = "h1";
  v1::AgentMessage heartbeat;
  heartbeat.mutable_heartbeat()->set_sequence(1);
  options.first_message = heartbeat;
  absl::StatusOr<std::unique_ptr<FakeAgent>> agent = FakeAgent::Start(options);
  ASSERT_TRUE(agent.ok());
  EXPECT_EQ((*agent)->WaitForWelcome().status().code(), absl::StatusCode::kInvalidArgument);

  v1::AgentMessage bad_name;
  bad_name.mutable_hello()->set_host("not a host name");
  options.first_message = bad_name;
  absl::StatusOr<std::unique_ptr<FakeAgent>> named = FakeAgent::Start(options);
  ASSERT_TRUE(named.ok());
  absl::StatusOr<v1::Welcome> welcome = (*named)->WaitForWelcome();
  EXPECT_EQ(welcome.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(welcome.status().message(), HasSubstr("hello.host"));
}

TEST_F(FleetTest, LostHost_IsFlaggedAfterSilenceKeepsItsAppsAndComesBackOnHeartbeat) {
  FakeAgent& quiet = Agent("quiet");
  FakeAgent& chatty = Agent("chatty");
  const uint32_t revision = Apply(AppYaml("hello", "v1"));
  ASSERT_TRUE(quiet.WaitForRevision("hello", revision).ok());
  ASSERT_TRUE(chatty.WaitForRevision("hello", revision).ok());
  // The controller has their results (the last thing they say) before the
  // clock moves.
  ASSERT_TRUE(Eventually([&] {
    const v1::AppStatus status = Status("hello");
    return status.hosts_size() == 2 &&
           status.hosts(0).state() == v1::HOST_DEPLOY_STATE_HEALTHY &&
           status.hosts(1).state() == v1::HOST_DEPLOY_STATE_HEALTHY;
  }));

  // Two intervals: not yet lost.
  clock_.Advance(absl::Seconds(10));
  chatty.SendHeartbeat();
  ASSERT_TRUE(Eventually([&] { return LastSeen("chatty") == clock_.Now(); }));
  fleet_->SweepNow();
  EXPECT_TRUE(HostConnected("quiet"));
  // Three intervals of silence.
  clock_.Advance(absl::Seconds(5));
  fleet_->SweepNow();
  EXPECT_FALSE(HostConnected("quiet"));
  EXPECT_TRUE(HostConnected("chatty"));
  for (const v1::Host& host : Hosts()) {
    EXPECT_EQ(host.lost(), host.name() == "quiet") << host.name();
    EXPECT_EQ(host.connected(), host.name() == "chatty") << host.name();
  }
  const ProcessResult table = Pyctl({"get", "hosts"});
  EXPECT_THAT(table.stdout_text, MatchesRegex("(.|\n)*quiet +lost (.|\n)*"));

  // Nothing is stopped on it, and it gets no new work while lost.
  Apply(AppYaml("hello", "v2"));
  ASSERT_TRUE(chatty.WaitForRevision("hello", 2).ok());
  fleet_->WaitForReconcile();
  EXPECT_EQ(quiet.RemoveCount("hello"), 0);
  EXPECT_EQ(quiet.DeployCount("hello"), 1);
  EXPECT_FALSE(quiet.ended()) << "its stream stays open";
  const v1::AppStatus status = Status("hello");
  ASSERT_EQ(status.hosts_size(), 2);
  EXPECT_EQ(status.hosts(1).host(), "quiet");
  EXPECT_FALSE(status.hosts(1).connected());
  EXPECT_EQ(status.hosts(1).revision(), 1u) << "its last report stands";

  // Heard from again: connected, and converged.
  quiet.SendHeartbeat();
  EXPECT_TRUE(Eventually([&] { return HostConnected("quiet"); }));
  EXPECT_TRUE(quiet.WaitForRevision("hello", 2).ok());
}

// Status is cached while no host changes (Fleet::Status): each change below
// comes after a status call that filled the cache, and must still show.
TEST_F(FleetTest, Status_ShowsEachHostChangeMadeAfterAnEarlierStatus) {
  FakeAgent& h1 = Agent("h1");
  const uint32_t revision = Apply(AppYaml("hello", "v1"));
  ASSERT_TRUE(h1.WaitForRevision("hello", revision).ok());
  ASSERT_TRUE(Eventually([&] {
    const v1::AppStatus status = Status("hello");
    return status.hosts_size() == 1 && status.hosts(0).state() == v1::HOST_DEPLOY_STATE_HEALTHY;
  }));

  // Lost by the sweep (no message at all).
  clock_.Advance(absl::Seconds(15));
  fleet_->SweepNow();
  EXPECT_FALSE(Status("hello").hosts(0).connected()) << "lost";
  // Heard from again by a heartbeat alone.
  h1.SendHeartbeat();
  EXPECT_TRUE(Eventually([&] { return Status("hello").hosts(0).connected(); })) << "recovered";
  // A health report.
  v1::AppHealth failed = h1.apps().at("hello");
  failed.set_health(v1::HEALTH_STATE_FAILED);
  h1.SendHealth(failed);
  EXPECT_TRUE(Eventually([&] {
    return Status("hello").hosts(0).health() == v1::HEALTH_STATE_FAILED;
  })) << "health report";
  // The stream ends.
  h1.CloseStream();
  EXPECT_TRUE(Eventually([&] { return !Status("hello").hosts(0).connected(); })) << "ended";
}

TEST_F(FleetTest, PyctlStatus_ShowsAppByHostHealthAndUnitsInTheDocumentedShape) {
  FakeAgent& h1 = Agent("h1");
  Agent("h2");
  const uint32_t revision = Apply(AppYaml("hello", "v1"));
  for (const auto& agent : agents_) ASSERT_TRUE(agent->WaitForRevision("hello", revision).ok());

  // A unit fails on h1: the agent pushes it, status shows it.
  v1::AppHealth failed = h1.apps().at("hello");
  failed.set_health(v1::HEALTH_STATE_FAILED);
  failed.mutable_units(0)->set_active_state("failed");
  failed.mutable_units(0)->set_sub_state("failed");
  h1.SendHealth(failed);
  ASSERT_TRUE(Eventually([&] {
    const v1::AppStatus status = Status("hello");
    return status.hosts_size() > 0 && status.hosts(0).health() == v1::HEALTH_STATE_FAILED;
  }));

  const ProcessResult result = Pyctl({"status", "hello", "-o", "json"});
  ASSERT_TRUE(result.Succeeded()) << result.stderr_text;
  absl::StatusOr<JsonValue> json = ParseJson(result.stdout_text);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(Fields(*json).at("app").string_value(), "hello");
  const auto& hosts = Fields(*json).at("hosts").list_value();
  ASSERT_EQ(hosts.values_size(), 2) << result.stdout_text;
  const JsonValue& first = hosts.values(0);
  EXPECT_EQ(Fields(first).at("host").string_value(), "h1");
  EXPECT_TRUE(Fields(first).at("connected").bool_value());
  EXPECT_EQ(Fields(first).at("revision").number_value(), revision);
  EXPECT_EQ(Fields(first).at("tag").string_value(), "v1");
  EXPECT_EQ(Fields(first).at("commit").string_value(), "c0ffee1");
  EXPECT_EQ(Fields(first).at("health").string_value(), "failed");
  const JsonValue& unit = Fields(first).at("units").list_value().values(0);
  EXPECT_EQ(Fields(unit).at("unit").string_value(), "hello-web.service");
  EXPECT_EQ(Fields(unit).at("active_state").string_value(), "failed");
  EXPECT_EQ(Fields(unit).at("sub_state").string_value(), "failed");
  EXPECT_EQ(Fields(hosts.values(1)).at("health").string_value(), "healthy");
  const std::string first_object = result.stdout_text.substr(result.stdout_text.find("\"host\""));
  const std::vector<std::string> keys = KeysInOrder(first, "{" + first_object);
  ASSERT_GE(keys.size(), 7u);
  EXPECT_THAT(std::vector<std::string>(keys.begin(), keys.begin() + 7),
              ElementsAre("host", "connected", "revision", "tag", "commit", "health", "units"));

  // Without NAME: a list of those.
  const ProcessResult all = Pyctl({"status", "-o", "json"});
  ASSERT_TRUE(all.Succeeded()) << all.stderr_text;
  absl::StatusOr<JsonValue> list = ParseJson(all.stdout_text);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->list_value().values_size(), 1);
  EXPECT_EQ(Fields(list->list_value().values(0)).at("app").string_value(), "hello");

  const ProcessResult table = Pyctl({"status"});
  EXPECT_THAT(table.stdout_text,
              MatchesRegex("APP +HOST +CONNECTED +REVISION +TAG +HEALTH +STATE +UNITS +DRIFT\n"
                           "hello +h1 +yes +1 +v1 +failed +failed +hello-web.service failed/failed +-\n"
                           "hello +h2 +yes +1 +v1 +healthy +healthy +hello-web.service active/running +-\n"));
  EXPECT_EQ(Pyctl({"status", "nope"}).stderr_text, "pyctl: app \"nope\" not found\n");
}

TEST_F(FleetTest, DescribeAndGetApps_ShowPerHostStateAndHostCount) {
  FakeAgent& web = Agent("web1", {{"role", "web"}});
  Agent("db1", {{"role", "db"}});
  const uint32_t revision = Apply(AppYaml("hello", "v1", "role: web"));
  ASSERT_TRUE(web.WaitForRevision("hello", revision).ok());

  const ProcessResult described = Pyctl({"describe", "app", "hello", "-o", "json"});
  ASSERT_TRUE(described.Succeeded()) << described.stderr_text;
  absl::StatusOr<JsonValue> json = ParseJson(described.stdout_text);
  ASSERT_TRUE(json.ok()) << json.status();
  const auto& hosts = Fields(*json).at("hosts").list_value();
  ASSERT_EQ(hosts.values_size(), 1) << "only the targeted host";
  EXPECT_EQ(Fields(hosts.values(0)).at("host").string_value(), "web1");
  EXPECT_EQ(Fields(hosts.values(0)).at("state").string_value(), "healthy");
  const ProcessResult text = Pyctl({"describe", "app", "hello"});
  EXPECT_THAT(text.stdout_text, MatchesRegex("(.|\n)*Hosts:\n +HOST +CONNECTED(.|\n)*\n +web1 +yes +1 +v1 +healthy +healthy (.|\n)*Spec:\n(.|\n)*"));

  const ProcessResult apps = Pyctl({"get", "apps", "-o", "json"});
  absl::StatusOr<JsonValue> list = ParseJson(apps.stdout_text);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(Fields(list->list_value().values(0)).at("hosts").number_value(), 1);
}

// main.cc's wiring: the real binary serves agents on its listen addresses
// and closes their streams as soon as it is told to stop. The fake agent
// has no certificate (--insecure-agents; enrollment is tls_test's), pyctl
// is root on the admin socket.
TEST(ControllerProcessFleetTest, ServesAgentsOnItsListenAddressesAndClosesThemOnSigterm) {
  testing::TempDir dir;
  testing::ControllerHarness controller(dir.path());
  ASSERT_TRUE(controller.Start({"--insecure-agents"}).ok()) << controller.Stderr();
  FakeAgentOptions options;
  options.address = controller.tcp_address();
  options.host = "h1";
  absl::StatusOr<std::unique_ptr<FakeAgent>> agent = FakeAgent::Start(options);
  ASSERT_TRUE(agent.ok());
  absl::StatusOr<v1::Welcome> welcome = (*agent)->WaitForWelcome();
  ASSERT_TRUE(welcome.ok()) << welcome.status() << controller.Stderr();

  std::ofstream(dir.Join("app.yaml")) << AppYaml("hello", "v1");
  const ProcessResult applied = testing::RunPyctl(
      {"--controller", controller.admin_address(), "apply", "app.yaml"}, dir.path());
  EXPECT_TRUE(applied.Succeeded()) << applied.stdout_text << applied.stderr_text;
  EXPECT_THAT(applied.stdout_text, HasSubstr("h1: healthy\n"));

  // The agent's stream is closed at once, before the server's graceful stop
  // (whose grace period an idle connected channel may still use up).
  ASSERT_TRUE(controller.process().Signal(SIGTERM).ok());
  absl::StatusOr<grpc::Status> ended = (*agent)->WaitForEnd(absl::Seconds(2));
  ASSERT_TRUE(ended.ok()) << ended.status() << controller.Stderr();
  absl::StatusOr<testing::ExitStatus> stopped =
      controller.process().WaitForExit(testing::kStartTimeout);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->Describe(), "exit status 0") << controller.Stderr();
  EXPECT_EQ(ended->error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace pyservice
