// Controller high availability end to end: a real 3-member etcd cluster on
// loopback (tests/testing/etcd_cluster.h), three real pyservice-controller
// processes on it (`--store etcd://...`, each on its own Unix socket and
// admin socket, one secrets key), two real systemd test hosts whose real
// agents (enrolled with tokens, so the new leader must know the first one's
// certificates and CA: the access state is in etcd) are given all three
// sockets (`controller: A,B,C`), and the real
// pyctl given all three admin sockets. The leader is killed (SIGKILL) in
// the first wave of a batched rollout; a follower takes over, the agents
// come to it by themselves, and the rollout finishes there with no host
// deployed twice. The killed controller, started again, follows.
// The harness (controllers, hosts, agents, pyctl) is fleet_e2e.h.
#include <iostream>
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
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::testing {
namespace {

constexpr char kApp[] = "hello";
constexpr int kControllers = 3;
// Bounds of every wait on the fleet: generous, the machine is shared (a
// cold deploy builds a venv; a takeover needs the dead leader's 5 s lease
// to expire).
constexpr absl::Duration kRolloutTimeout = absl::Seconds(180);
constexpr absl::Duration kTakeoverTimeout = absl::Seconds(60);

bool IsActiveState(const std::string& state) {
  return state == "pending" || state == "running" || state == "awaiting_promotion" ||
         state == "paused";
}

class HaE2eTest : public FleetE2eFixture {
 protected:
  static void SetUpTestSuite() {
    etcd_dir_ = new TempDir;
    absl::StatusOr<std::unique_ptr<EtcdCluster>> cluster = EtcdCluster::Start(etcd_dir_->path());
    if (!cluster.ok()) {
      etcd_error_ = new std::string(
          absl::StrCat("cannot start the 3-member etcd cluster: ", cluster.status().ToString()));
      return;
    }
    etcd_ = cluster->release();
    FleetOptions options;
    options.host_names = {"ha1", "ha2"};
    options.app_yaml = HelloAppYaml();
    options.controllers = kControllers;
    options.store = etcd_->Url();
    options.controller_log_lines = 60;
    options.agent_journal_lines = 40;
    BootFleet(std::move(options), {"v1", "v2"});
  }

  static void TearDownTestSuite() {
    // The controllers stop before the etcd cluster they lead on.
    FleetE2eFixture::TearDownTestSuite();
    delete etcd_;
    etcd_ = nullptr;
    delete etcd_dir_;
    etcd_dir_ = nullptr;
    delete etcd_error_;
    etcd_error_ = nullptr;
  }

  void SetUp() override {
    ASSERT_EQ(etcd_error_, nullptr) << *etcd_error_;
    FleetE2eFixture::SetUp();
  }

  // `pyctl rollout status hello -o json` (on the address list); "raw" the
  // command and its output, for failure messages.
  static JsonValue RolloutStatus(std::string* raw) {
    const ProcessResult result = Pyctl({"rollout", "status", kApp, "-o", "json"});
    *raw = Describe(result);
    if (!result.Succeeded()) return JsonValue();
    absl::StatusOr<JsonValue> json = ParseJson(result.stdout_text);
    return json.ok() ? *std::move(json) : JsonValue();
  }

  // Every host healthy on `tag` in `pyctl status` (connected, its unit
  // active) and answering HTTP with `tag`'s body from the app's port.
  static bool AllHealthyOn(const std::string& tag, std::string* raw) {
    return fleet().AllHealthyOn(kApp, tag, raw);
  }

  // Every host logged as connected on controller i since its start: the
  // agents dialed it, not a stale `connected` in the shared store.
  static bool AllConnectedTo(int i) {
    const std::string log = fleet().controller(i).ReadStderr();
    for (int h = 0; h < fleet().size(); ++h) {
      if (!absl::StrContains(log, absl::StrCat("host ", fleet().HostName(h), " connected"))) {
        return false;
      }
    }
    return true;
  }

  static TempDir* etcd_dir_;
  static EtcdCluster* etcd_;
  static std::string* etcd_error_;
};

TempDir* HaE2eTest::etcd_dir_ = nullptr;
EtcdCluster* HaE2eTest::etcd_ = nullptr;
std::string* HaE2eTest::etcd_error_ = nullptr;

TEST_F(HaE2eTest, LeaderKilledMidRolloutAFollowerLeadsAndFinishesItDeployingEachHostOnce) {
  // Controller 0 started first on the empty store and leads; the agents
  // dial it through their address list.
  ASSERT_EQ(fleet().Leader(), 0) << Diagnostics();
  ASSERT_TRUE(Eventually([] { return AllConnected() && AllConnectedTo(0); }, kTakeoverTimeout))
      << "the agents did not connect to the leader\n" << Diagnostics();
  const ProcessResult applied = Pyctl({"apply", fleet().app_yaml_path()}, 300);
  ASSERT_TRUE(applied.Succeeded()) << Describe(applied) << Diagnostics();
  std::string raw;
  ASSERT_TRUE(Eventually([&] { return AllHealthyOn("v1", &raw); }, kRolloutTimeout))
      << "not every host healthy on v1\n" << raw << Diagnostics();

  // One host per wave, promoted automatically: the leader dies as soon as
  // the first wave runs (as in rollout_e2e_test's issue-13 test), with the
  // second host still to go.
  const int64_t mark = JournalMark();
  const ProcessResult started = Pyctl({"rollout", kApp, "--tag", "v2", "--batch", "1",
                                       "--auto-promote", "--no-wait", "-o", "json"});
  ASSERT_TRUE(started.Succeeded()) << Describe(started) << Diagnostics();
  std::string killed_in;
  JsonValue rollout;
  ASSERT_TRUE(Eventually(
      [&] {
        rollout = RolloutStatus(&killed_in);
        const std::string state = Field(rollout, "state");
        return state == "running" || (!state.empty() && !IsActiveState(state));
      },
      absl::Seconds(60), absl::Milliseconds(100)))
      << killed_in << Diagnostics();
  ASSERT_EQ(Field(rollout, "state"), "running")
      << "the rollout finished before the leader could be killed in it\n" << killed_in;
  ASSERT_EQ(Field(rollout, "current_wave"), "0") << killed_in;
  absl::StatusOr<ExitStatus> killed = fleet().KillController(0);
  ASSERT_TRUE(killed.ok()) << killed.status();
  EXPECT_EQ(killed->Describe(), "killed by signal 9");

  // A follower takes over, and every agent dials it.
  const absl::Time killed_at = absl::Now();
  int leader = -1;
  ASSERT_TRUE(Eventually(
      [&] {
        leader = fleet().Leader();
        return leader != -1;
      },
      kTakeoverTimeout))
      << "no follower took over\n" << Diagnostics();
  ASSERT_NE(leader, 0);
  // The new leader must keep leading: one that lost its lease right after
  // taking over (exit status 3) would hand the rollout on a third time.
  ASSERT_TRUE(Eventually(
      [&] { return !fleet().ControllerRuns(leader) || AllConnectedTo(leader); },
      kTakeoverTimeout))
      << "the agents did not reconnect to the new leader " << leader << "\n" << Diagnostics();
  ASSERT_TRUE(fleet().ControllerRuns(leader))
      << "the new leader " << leader << " exited after taking over\n" << Diagnostics();
  std::cout << "[ figures ] controller " << leader << " leads, every agent connected to it, "
            << absl::FormatDuration(absl::Now() - killed_at) << " after the kill" << std::endl;

  // The new leader finishes the rollout.
  std::string last;
  ASSERT_TRUE(Eventually(
      [&] {
        rollout = RolloutStatus(&last);
        const std::string state = Field(rollout, "state");
        return !state.empty() && !IsActiveState(state);
      },
      kRolloutTimeout))
      << "not finished on the new leader\nwhen killed: " << killed_in << "\nlast: " << last
      << Diagnostics();
  ASSERT_EQ(Field(rollout, "state"), "succeeded")
      << last << "\nwhen killed: " << killed_in << Diagnostics();
  EXPECT_TRUE(Eventually([&] { return AllHealthyOn("v2", &raw); }, absl::Seconds(60)))
      << raw << Diagnostics();
  // A wrongful second deploy from the new leader would come within seconds.
  absl::SleepFor(absl::Seconds(5));
  for (int i = 0; i < fleet().size(); ++i) {
    absl::StatusOr<std::string> body = HttpGet(i);
    EXPECT_TRUE(body.ok() && *body == Body("v2"))
        << fleet().HostName(i) << ": " << (body.ok() ? *body : body.status().ToString());
    // Deployed once: one v1 -> v2 restart of the service, none more.
    std::string starts;
    EXPECT_EQ(ServiceStartsSince(i, mark, &starts), 1)
        << fleet().HostName(i) << ": not started exactly once by the rollout:\n"
        << starts << "\nagent log:\n"
        << JournalSince(i, mark, {"--unit", kAgentUnit}) << "\nwhen killed: " << killed_in;
  }

  // The killed controller, started again, follows the new leader; pyctl on
  // the address list still reaches the leader.
  ASSERT_TRUE(fleet().StartController(0).ok()) << Diagnostics();
  EXPECT_TRUE(fleet()
                  .controller(0)
                  .WaitForStderrLine(absl::StrCat("following: the leader is ",
                                                  fleet().ControllerAddress(leader)),
                                     kTakeoverTimeout)
                  .ok())
      << fleet().controller(0).ReadStderr();
  EXPECT_FALSE(absl::StrContains(fleet().controller(0).ReadStderr(), "leading:"))
      << fleet().controller(0).ReadStderr();
  EXPECT_EQ(fleet().Leader(), leader) << Diagnostics();
  rollout = RolloutStatus(&last);
  EXPECT_EQ(Field(rollout, "state"), "succeeded") << last;
  EXPECT_TRUE(AllConnected()) << Diagnostics();
}

}  // namespace
}  // namespace pyservice::testing
