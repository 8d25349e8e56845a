// The fleet registry on a FakeClock and a real SQLite store: sessions,
// lost-host detection, rate-limited last_seen writes, deploy bookkeeping.
#include "controller/fleet/fleet_registry.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "controller/fleet/deploy_status.h"
#include "controller/rollout/placement.h"
#include "controller/service/fleet_views.h"
#include "controller/service/host_listing.h"
#include "controller/store/aes_gcm_spec_sealer.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_agent_connection.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_secret_keys.h"

namespace pyservice::controller::fleet {
namespace {

using ::pyservice::testing::FakeAgentConnection;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;

constexpr absl::Duration kLostAfter = absl::Seconds(15);
constexpr absl::Duration kWriteInterval = absl::Seconds(30);

v1::Hello Hello(const std::string& host, Labels labels = {}) {
  v1::Hello hello;
  hello.set_host(host);
  hello.set_agent_version("1.2.3");
  hello.mutable_labels()->insert(labels.begin(), labels.end());
  return hello;
}

DesiredSet OneApp(const std::string& name, uint32_t revision) {
  auto spec = std::make_shared<v1::AppSpec>();
  spec->set_name(name);
  DesiredApp app;
  app.name = name;
  app.revision = revision;
  app.tag = "v1";
  app.digest = "sha256:" + name + std::to_string(revision);
  app.spec = spec;
  return {{name, app}};
}

class FleetRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store =
        SqliteStore::Open(dir_.Join("data"), clock_, sealer_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    persister_ = std::make_unique<HostPersister>(*store_);
    registry_ = std::make_unique<FleetRegistry>(clock_, *persister_,
                                                RegistryOptions{kLostAfter, kWriteInterval});
  }

  std::shared_ptr<FakeAgentConnection> Connect(uint64_t session_id, const v1::Hello& hello) {
    auto connection = std::make_shared<FakeAgentConnection>();
    registry_->Attach(session_id, hello, connection);
    return connection;
  }

  StoredHost StoredOnly(const std::string& name) {
    persister_->Flush();
    absl::StatusOr<std::vector<StoredHost>> hosts = store_->ListHosts();
    EXPECT_TRUE(hosts.ok()) << hosts.status();
    for (const StoredHost& host : *hosts) {
      if (host.name == name) return host;
    }
    ADD_FAILURE() << "host " << name << " is not stored";
    return {};
  }

  bool Connected(const std::string& name) {
    std::optional<HostView> host = registry_->GetHost(name);
    return host.has_value() && host->connected;
  }

  uint64_t NextId() { return ++last_id_; }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  const SecretKeys keys_ = testing::TestSecretKeys();
  const AesGcmSpecSealer sealer_{keys_, "test.key"};
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<HostPersister> persister_;
  std::unique_ptr<FleetRegistry> registry_;
  uint64_t last_id_ = 100;
};

TEST_F(FleetRegistryTest, Attach_RegistersAndPersistsTheHost) {
  Connect(1, Hello("h1", {{"role", "web"}}));
  EXPECT_TRUE(Connected("h1"));
  const StoredHost stored = StoredOnly("h1");
  EXPECT_EQ(stored.labels, (Labels{{"role", "web"}}));
  EXPECT_EQ(stored.agent_version, "1.2.3");
  EXPECT_EQ(stored.first_seen, clock_.Now());
  EXPECT_EQ(stored.last_seen, clock_.Now());
}

TEST_F(FleetRegistryTest, Sweep_FlagsAHostLostAfterThreeSilentIntervalsNotBefore) {
  Connect(1, Hello("h1"));
  Connect(2, Hello("h2"));
  clock_.Advance(kLostAfter - absl::Seconds(1));
  registry_->Heard("h2", 2);  // h2 keeps talking
  EXPECT_THAT(registry_->Sweep(), IsEmpty());
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(registry_->Sweep(), ElementsAre("h1"));
  EXPECT_FALSE(Connected("h1"));
  EXPECT_TRUE(Connected("h2"));
  EXPECT_THAT(registry_->Sweep(), IsEmpty()) << "flagged once";

  const std::vector<HostSummary> hosts = registry_->ListHosts();
  ASSERT_THAT(hosts, SizeIs(2));
  EXPECT_TRUE(hosts[0].lost);
  EXPECT_FALSE(hosts[0].connected);
  EXPECT_FALSE(hosts[1].lost);
}

TEST_F(FleetRegistryTest, Heard_LostHostIsConnectedAgainAndSaysSo) {
  Connect(1, Hello("h1"));
  clock_.Advance(kLostAfter);
  ASSERT_THAT(registry_->Sweep(), ElementsAre("h1"));
  EXPECT_TRUE(registry_->Heard("h1", 1)) << "recovered: the caller reconciles it";
  EXPECT_TRUE(Connected("h1"));
  EXPECT_FALSE(registry_->Heard("h1", 1));
}

TEST_F(FleetRegistryTest, Plan_SendsTheRunningWavesDeploysBeforeLaterWavesPreparations) {
  // Revision 2 rolls out to h2 and h4 while h1 and h3 prepare it; all four
  // run revision 1, verified.
  DesiredSet desired = OneApp("web", 2);
  DesiredApp& web = desired.at("web");
  web.from = OneApp("web", 1).at("web");
  auto placement = std::make_shared<rollout::Placement>();
  placement->on_to = {"h2", "h4"};
  placement->prepare = {"h1", "h3"};
  web.placement = placement;
  for (uint64_t i = 1; i <= 4; ++i) {
    const std::string name = "h" + std::to_string(i);
    Connect(i, Hello(name));
    v1::AppHealth health;
    health.set_app("web");
    health.set_revision(1);
    health.set_spec_digest(web.from.digest);
    health.set_health(v1::HEALTH_STATE_HEALTHY);
    ASSERT_TRUE(registry_->RecordHealth(name, i, health));
  }

  std::vector<std::pair<std::string, ReconcileAction::Kind>> sent;
  for (const PlannedSend& send : registry_->Plan(std::nullopt, desired, [this] { return NextId(); })) {
    sent.emplace_back(send.host, send.action.kind);
  }
  EXPECT_THAT(sent, ElementsAre(Pair("h2", ReconcileAction::Kind::kDeploy),
                                Pair("h4", ReconcileAction::Kind::kDeploy),
                                Pair("h1", ReconcileAction::Kind::kPrepare),
                                Pair("h3", ReconcileAction::Kind::kPrepare)));
}

TEST_F(FleetRegistryTest, LostHostGetsNoWorkButKeepsItsSession) {
  auto connection = Connect(1, Hello("h1"));
  clock_.Advance(kLostAfter);
  registry_->Sweep();
  EXPECT_THAT(registry_->Plan(std::nullopt, OneApp("web", 1), [this] { return NextId(); }),
              IsEmpty());
  EXPECT_FALSE(connection->closed().has_value()) << "nothing is stopped on a lost host";
}

TEST_F(FleetRegistryTest, LastSeen_IsWrittenAtMostOncePerInterval) {
  Connect(1, Hello("h1"));
  const absl::Time hello_time = clock_.Now();
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Seconds(5));
    registry_->Heard("h1", 1);
  }
  EXPECT_EQ(StoredOnly("h1").last_seen, hello_time) << "25 s of heartbeats: no write";
  clock_.Advance(absl::Seconds(5));
  registry_->Heard("h1", 1);
  EXPECT_EQ(StoredOnly("h1").last_seen, hello_time + absl::Seconds(30));
}

TEST_F(FleetRegistryTest, Detach_WritesTheFinalLastSeen) {
  Connect(1, Hello("h1"));
  clock_.Advance(absl::Seconds(7));
  registry_->Heard("h1", 1);
  registry_->Detach("h1", 1);
  EXPECT_FALSE(Connected("h1"));
  EXPECT_EQ(StoredOnly("h1").last_seen, clock_.Now());
}

TEST_F(FleetRegistryTest, Attach_ReturnsTheReplacedSessionAndIgnoresItsMessagesAndEnd) {
  auto first = Connect(1, Hello("h1"));
  auto second = std::make_shared<FakeAgentConnection>();
  EXPECT_EQ(registry_->Attach(2, Hello("h1"), second), first);
  v1::AppHealth health;
  health.set_app("web");
  EXPECT_FALSE(registry_->RecordHealth("h1", 1, health));
  registry_->Detach("h1", 1);
  EXPECT_TRUE(Connected("h1")) << "the old session's end does not disconnect the new one";
  EXPECT_TRUE(registry_->RecordHealth("h1", 2, health));
}

TEST_F(FleetRegistryTest, Attach_KeepsFirstSeenAndTakesNewLabels) {
  Connect(1, Hello("h1", {{"role", "web"}}));
  const absl::Time first = clock_.Now();
  registry_->Detach("h1", 1);
  clock_.Advance(absl::Minutes(5));
  Connect(2, Hello("h1", {{"role", "db"}}));
  const StoredHost stored = StoredOnly("h1");
  EXPECT_EQ(stored.first_seen, first);
  EXPECT_EQ(stored.last_seen, clock_.Now());
  EXPECT_EQ(stored.labels, (Labels{{"role", "db"}}));
}

TEST_F(FleetRegistryTest, Load_KnownHostsStartDisconnected) {
  StoredHost stored{"old", {{"role", "web"}}, "0.9", clock_.Now(), clock_.Now()};
  registry_->Load({stored});
  const std::vector<HostSummary> hosts = registry_->ListHosts();
  ASSERT_THAT(hosts, SizeIs(1));
  EXPECT_FALSE(hosts[0].connected);
  EXPECT_EQ(hosts[0].labels, (Labels{{"role", "web"}}));
  EXPECT_EQ(hosts[0].agent_version, "0.9");
}

TEST_F(FleetRegistryTest, Plan_RecordsWorkInFlightSoASecondPassSendsNothing) {
  Connect(1, Hello("h1"));
  const DesiredSet desired = OneApp("web", 3);
  const std::vector<PlannedSend> first =
      registry_->Plan(std::nullopt, desired, [this] { return NextId(); });
  ASSERT_THAT(first, SizeIs(1));
  EXPECT_EQ(first[0].host, "h1");
  EXPECT_EQ(first[0].action.revision, 3u);
  EXPECT_EQ(first[0].deploy_id, 101u);
  EXPECT_THAT(registry_->Plan(std::nullopt, desired, [this] { return NextId(); }), IsEmpty());
}

TEST_F(FleetRegistryTest, RecordResult_FailureIsRememberedAndNotRetried) {
  Connect(1, Hello("h1"));
  const DesiredSet desired = OneApp("web", 3);
  const uint64_t id =
      registry_->Plan(std::nullopt, desired, [this] { return NextId(); })[0].deploy_id;
  v1::DeployResult result;
  result.set_app("web");
  result.set_deploy_id(id);
  result.set_ok(false);
  result.set_failed_step("verify");
  result.set_error("hello-web.service failed");
  const std::optional<ResultOutcome> outcome = registry_->RecordResult("h1", 1, result);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_TRUE(outcome->matched);
  const HostView host = *registry_->GetHost("h1");
  EXPECT_THAT(host.in_flight, IsEmpty());
  EXPECT_EQ(host.failures.at("web").step, "verify");
  EXPECT_THAT(registry_->Plan(std::nullopt, desired, [this] { return NextId(); }), IsEmpty());
  EXPECT_THAT(registry_->Plan(std::nullopt, OneApp("web", 4), [this] { return NextId(); }),
              SizeIs(1));
}

TEST_F(FleetRegistryTest, RecordResult_SuccessWithoutLiveMeansTheSentRevisionRuns) {
  Connect(1, Hello("h1"));
  const DesiredSet desired = OneApp("web", 3);
  const uint64_t id =
      registry_->Plan(std::nullopt, desired, [this] { return NextId(); })[0].deploy_id;
  v1::DeployResult result;
  result.set_app("web");
  result.set_deploy_id(id);
  result.set_ok(true);
  registry_->RecordResult("h1", 1, result);
  const HostView host = *registry_->GetHost("h1");
  EXPECT_EQ(host.apps.at("web").spec_digest(), desired.at("web").digest);
  EXPECT_EQ(host.apps.at("web").revision(), 3u);
  EXPECT_THAT(registry_->Plan(std::nullopt, desired, [this] { return NextId(); }), IsEmpty());
}

TEST_F(FleetRegistryTest, RecordResult_SuccessRunningAnotherDigestIsAFailureNotALoop) {
  Connect(1, Hello("h1"));
  const DesiredSet desired = OneApp("web", 3);
  const uint64_t id =
      registry_->Plan(std::nullopt, desired, [this] { return NextId(); })[0].deploy_id;
  v1::DeployResult result;
  result.set_app("web");
  result.set_deploy_id(id);
  result.set_ok(true);
  result.mutable_live()->set_app("web");
  result.mutable_live()->set_spec_digest("sha256:something-else");
  registry_->RecordResult("h1", 1, result);
  const HostView host = *registry_->GetHost("h1");
  EXPECT_THAT(host.failures.at("web").error, ::testing::HasSubstr("sha256:something-else"));
  EXPECT_THAT(registry_->Plan(std::nullopt, desired, [this] { return NextId(); }), IsEmpty());
}

TEST_F(FleetRegistryTest, RecordResult_SuccessLeavingTheReleaseUnverifiedIsAFailureNotALoop) {
  // The reconciler sends an unverified release again; an agent that then
  // says "ok" and still reports it unverified must not get it forever.
  Connect(1, Hello("h1"));
  const DesiredSet desired = OneApp("web", 3);
  const uint64_t id =
      registry_->Plan(std::nullopt, desired, [this] { return NextId(); })[0].deploy_id;
  v1::DeployResult result;
  result.set_app("web");
  result.set_deploy_id(id);
  result.set_ok(true);
  result.mutable_live()->set_app("web");
  result.mutable_live()->set_spec_digest(desired.at("web").digest);
  result.mutable_live()->set_health(v1::HEALTH_STATE_HEALTHY);
  result.mutable_live()->set_unverified(true);
  registry_->RecordResult("h1", 1, result);
  const HostView host = *registry_->GetHost("h1");
  EXPECT_THAT(host.failures.at("web").error, ::testing::HasSubstr("unverified"));
  EXPECT_THAT(registry_->Plan(std::nullopt, desired, [this] { return NextId(); }), IsEmpty());
  EXPECT_EQ(DeployProgressOf(host, "web", 3, desired.at("web").digest).state(),
            v1::HOST_DEPLOY_STATE_FAILED)
      << "a wave on it fails rather than waiting out its timeout";
}

TEST_F(FleetRegistryTest, RecordResult_StaleDeployIdKeepsTheReportButNotTheTracking) {
  Connect(1, Hello("h1"));
  registry_->Plan(std::nullopt, OneApp("web", 3), [this] { return NextId(); });
  v1::DeployResult result;
  result.set_app("web");
  result.set_deploy_id(5);  // an earlier deploy's
  result.set_ok(true);
  result.mutable_live()->set_app("web");
  result.mutable_live()->set_revision(2);
  const std::optional<ResultOutcome> outcome = registry_->RecordResult("h1", 1, result);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_FALSE(outcome->matched);
  const HostView host = *registry_->GetHost("h1");
  EXPECT_THAT(host.in_flight, SizeIs(1));
  EXPECT_EQ(host.apps.at("web").revision(), 2u);
}

TEST_F(FleetRegistryTest, RecordProgress_UpdatesTheDeployInFlightOnly) {
  Connect(1, Hello("h1"));
  const uint64_t id = registry_->Plan(std::nullopt, OneApp("web", 3), [this] {
    return NextId();
  })[0].deploy_id;
  v1::StepProgress progress;
  progress.set_app("web");
  progress.set_deploy_id(id);
  progress.set_step("checkout");
  progress.set_state(v1::STEP_STATE_RUNNING);
  EXPECT_TRUE(registry_->RecordProgress("h1", 1, progress));
  EXPECT_EQ(registry_->GetHost("h1")->in_flight.at("web").step, "checkout");
  progress.set_deploy_id(id + 1000);
  EXPECT_FALSE(registry_->RecordProgress("h1", 1, progress));
}

// The listing serializes each host once and reuses the bytes while what it
// shows is unchanged: after every kind of change a host goes through, the
// answer must equal one built from scratch (HostViews), or a change is
// missing from what the cache is keyed on.
TEST_F(FleetRegistryTest, HostListing_AnswersAsIfBuiltFromScratchAfterEveryKindOfChange) {
  HostListing listing(*registry_);
  auto expect_current = [&](const std::string& after) {
    v1::ListHostsResponse fresh;
    for (v1::Host& host : HostViews(*registry_)) *fresh.add_hosts() = std::move(host);
    v1::ListHostsResponse cached;
    ASSERT_TRUE(cached.ParseFromString(listing.SerializedResponse())) << after;
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(cached, fresh))
        << "after " << after << "\ncached:\n"
        << cached.DebugString() << "fresh:\n"
        << fresh.DebugString();
  };
  expect_current("nothing");
  registry_->Load({StoredHost{"old", {{"role", "web"}}, "0.9", clock_.Now(), clock_.Now()}});
  expect_current("a load");
  Connect(1, Hello("h2", {{"role", "web"}}));
  Connect(2, Hello("h1"));
  expect_current("two hellos");
  clock_.Advance(absl::Seconds(1));
  registry_->Heard("h1", 2);
  expect_current("a heartbeat a second later");
  v1::Hello relabeled = Hello("h1", {{"role", "db"}});
  relabeled.set_agent_version("1.2.4");
  Connect(3, relabeled);
  expect_current("a new hello with other labels and version");
  v1::AppHealth health;
  health.set_app("web");
  ASSERT_TRUE(registry_->RecordHealth("h1", 3, health));
  expect_current("a new app");
  clock_.Advance(kLostAfter);
  ASSERT_THAT(registry_->Sweep(), SizeIs(2));
  expect_current("both hosts lost");
  registry_->Heard("h2", 1);
  expect_current("one host heard again");
  registry_->Detach("h2", 1);
  expect_current("a disconnect");
  Connect(4, Hello("h0"));
  expect_current("a host added before the others");
}

}  // namespace
}  // namespace pyservice::controller::fleet
