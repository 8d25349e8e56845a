// The rollout state machine (controller/rollout/rollout_engine.h) on a fake
// fleet (a map of host observations the test mutates) and hand-advanced
// absl::Time values: no clock, no sleeps, no store.
#include "controller/rollout/rollout_engine.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace pyservice::controller::rollout {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using Action = v1::ControlRolloutRequest::Action;
using Progress = HostObservation::Progress;

constexpr Action kPause = v1::ControlRolloutRequest::ACTION_PAUSE;
constexpr Action kResume = v1::ControlRolloutRequest::ACTION_RESUME;
constexpr Action kPromote = v1::ControlRolloutRequest::ACTION_PROMOTE;
constexpr Action kAbort = v1::ControlRolloutRequest::ACTION_ABORT;

const absl::Time kT0 = absl::FromUnixSeconds(1'790'000'000);

int64_t Ms(absl::Time t) { return absl::ToUnixMillis(t); }

// Deterministic bytes (map order fixed), to compare two records.
std::string Bytes(const v1::RolloutRecord& record) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    record.SerializeToCodedStream(&coded);
  }
  return out;
}

HostObservation Healthy() { return {Progress::kHealthy, "", ""}; }
HostObservation Moving() { return {Progress::kMoving, "", ""}; }
HostObservation Failed(std::string step, std::string error) {
  return {Progress::kFailed, std::move(step), std::move(error)};
}
HostObservation Gone() { return {Progress::kGone, "", ""}; }

// What the fleet reports: hosts not in the map are still moving.
struct FakeFleet {
  std::map<std::string, HostObservation> hosts;
  std::vector<std::string> asked;

  Observer observer() {
    return [this](const std::string& host) {
      asked.push_back(host);
      auto it = hosts.find(host);
      return it == hosts.end() ? Moving() : it->second;
    };
  }
  void Set(std::initializer_list<std::string> names, const HostObservation& seen) {
    for (const std::string& name : names) hosts[name] = seen;
  }
};

v1::WaveSize Count(uint32_t count) {
  v1::WaveSize size;
  size.set_count(count);
  return size;
}

v1::WaveSize Percent(uint32_t percent) {
  v1::WaveSize size;
  size.set_percent(percent);
  return size;
}

// Canary of one host, then batches of two: with hosts a..e, waves
// [a] [b c] [d e].
v1::RolloutStrategy CanaryStrategy(bool auto_promote = false, bool auto_rollback = true) {
  v1::RolloutStrategy strategy;
  *strategy.mutable_canary() = Count(1);
  *strategy.mutable_batch() = Count(2);
  strategy.set_auto_promote(auto_promote);
  strategy.set_auto_rollback(auto_rollback);
  return strategy;
}

// No canary, batches of two: with hosts a..e, waves [a b] [c d] [e].
v1::RolloutStrategy BatchStrategy(bool auto_rollback = true) {
  v1::RolloutStrategy strategy;
  *strategy.mutable_batch() = Count(2);
  strategy.set_auto_rollback(auto_rollback);
  return strategy;
}

const std::vector<std::string> kHosts = {"a", "b", "c", "d", "e"};

class RolloutEngineTest : public ::testing::Test {
 protected:
  v1::RolloutRecord New(const v1::RolloutStrategy& strategy) {
    return NewRollout(strategy, "rollout", "v1", "v2", kT0);
  }
  // Advance at kT0 + offset, the wave timeout counting from the waves'
  // starts (gate_since in the past).
  bool AdvanceAt(v1::RolloutRecord& record, absl::Duration offset,
                 const std::vector<std::string>& targeted = kHosts) {
    return engine_.Advance(record, targeted, fleet_.observer(), kT0 + offset, absl::InfinitePast());
  }
  absl::Status ControlAt(v1::RolloutRecord& record, Action action, absl::Duration offset) {
    return engine_.Control(record, action, kT0 + offset);
  }

  RolloutEngine engine_{EngineOptions{}};
  FakeFleet fleet_;
};

// ---- Names and the new record ----

TEST(RolloutStateTest, IsActive) {
  EXPECT_TRUE(IsActive(v1::ROLLOUT_STATE_PENDING));
  EXPECT_TRUE(IsActive(v1::ROLLOUT_STATE_RUNNING));
  EXPECT_TRUE(IsActive(v1::ROLLOUT_STATE_AWAITING_PROMOTION));
  EXPECT_TRUE(IsActive(v1::ROLLOUT_STATE_PAUSED));
  EXPECT_FALSE(IsActive(v1::ROLLOUT_STATE_SUCCEEDED));
  EXPECT_FALSE(IsActive(v1::ROLLOUT_STATE_FAILED));
  EXPECT_FALSE(IsActive(v1::ROLLOUT_STATE_ABORTED));
  EXPECT_FALSE(IsActive(v1::ROLLOUT_STATE_ROLLED_BACK));
  EXPECT_FALSE(IsActive(v1::ROLLOUT_STATE_UNSPECIFIED));
}

TEST(NewRolloutTest, IsPendingWithoutWaves) {
  const v1::RolloutStrategy strategy = CanaryStrategy();
  const v1::RolloutRecord record = NewRollout(strategy, "apply", "v1", "v2", kT0);
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_PENDING);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(record.strategy(), strategy));
  EXPECT_EQ(record.cause(), "apply");
  EXPECT_EQ(record.from_tag(), "v1");
  EXPECT_EQ(record.tag(), "v2");
  EXPECT_EQ(record.waves().size(), 0);
  EXPECT_EQ(record.current_wave(), -1);
  EXPECT_EQ(record.created_at_ms(), Ms(kT0));
  EXPECT_EQ(record.updated_at_ms(), Ms(kT0));
  EXPECT_EQ(record.finished_at_ms(), 0);
  EXPECT_EQ(record.message(), "");
}

// ---- Planning ----

TEST_F(RolloutEngineTest, PendingIsPlannedAndItsFirstWaveStarts) {
  v1::RolloutRecord record = New(CanaryStrategy());
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_RUNNING);
  ASSERT_EQ(record.waves_size(), 3);
  EXPECT_THAT(record.waves(0).hosts(), ElementsAre("a"));
  EXPECT_TRUE(record.waves(0).canary());
  EXPECT_THAT(record.waves(1).hosts(), ElementsAre("b", "c"));
  EXPECT_THAT(record.waves(2).hosts(), ElementsAre("d", "e"));
  EXPECT_EQ(record.current_wave(), 0);
  EXPECT_EQ(record.waves(0).started_at_ms(), Ms(kT0 + absl::Seconds(1)));
  EXPECT_EQ(record.waves(0).finished_at_ms(), 0);
  EXPECT_THAT(record.waves(0).outcomes(), IsEmpty());
  EXPECT_EQ(record.waves(1).started_at_ms(), 0);
  EXPECT_EQ(record.waves(2).started_at_ms(), 0);
  EXPECT_EQ(record.updated_at_ms(), Ms(kT0 + absl::Seconds(1)));
  EXPECT_EQ(record.finished_at_ms(), 0);
  // Only the running wave's hosts are asked.
  EXPECT_THAT(fleet_.asked, ElementsAre("a"));
}

TEST_F(RolloutEngineTest, NoTargetedHostSucceedsAtOnce) {
  v1::RolloutRecord record = New(CanaryStrategy());
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(1), {}));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_SUCCEEDED);
  EXPECT_EQ(record.waves().size(), 0);
  EXPECT_EQ(record.current_wave(), -1);
  EXPECT_EQ(record.finished_at_ms(), Ms(kT0 + absl::Seconds(1)));
  EXPECT_EQ(record.updated_at_ms(), Ms(kT0 + absl::Seconds(1)));
  EXPECT_THAT(record.message(), HasSubstr("no connected host"));
  EXPECT_THAT(fleet_.asked, IsEmpty());
  const std::string before = record.SerializeAsString();
  EXPECT_FALSE(AdvanceAt(record, absl::Seconds(2), kHosts));
  EXPECT_EQ(record.SerializeAsString(), before);
}

TEST_F(RolloutEngineTest, TargetedHostsArePlannedOnlyOnce) {
  v1::RolloutRecord record = New(BatchStrategy());
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1), {"a", "b", "c"}));
  const std::string before = record.SerializeAsString();
  // A later pass with other targeted hosts does not re-plan.
  EXPECT_FALSE(AdvanceAt(record, absl::Seconds(2), {"x", "y", "z", "w"}));
  EXPECT_EQ(record.SerializeAsString(), before);
  EXPECT_EQ(record.waves_size(), 2);
}

// ---- Canary and promotion ----

TEST_F(RolloutEngineTest, HealthyCanaryWithoutAutoPromoteAwaitsPromotion) {
  v1::RolloutRecord record = New(CanaryStrategy());
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  EXPECT_FALSE(AdvanceAt(record, absl::Seconds(2)));  // a still moving
  fleet_.Set({"a"}, Healthy());
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(3)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_AWAITING_PROMOTION);
  EXPECT_EQ(record.current_wave(), 0);
  EXPECT_EQ(record.waves(0).finished_at_ms(), Ms(kT0 + absl::Seconds(3)));
  EXPECT_THAT(record.waves(0).outcomes(), ElementsAre(v1::ROLLOUT_HOST_STATE_HEALTHY));
  EXPECT_TRUE(record.waves(0).errors().empty());
  EXPECT_EQ(record.waves(1).started_at_ms(), 0) << "the next wave must not start";
  EXPECT_THAT(record.message(), HasSubstr("promote"));
  EXPECT_EQ(record.finished_at_ms(), 0);
  // Stays there, however long and whatever the fleet does.
  fleet_.Set({"b", "c", "d", "e"}, Healthy());
  EXPECT_FALSE(AdvanceAt(record, absl::Hours(10)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_AWAITING_PROMOTION);
  EXPECT_EQ(record.waves(1).started_at_ms(), 0);
}

TEST_F(RolloutEngineTest, CanaryAlreadyHealthyAwaitsInTheSamePassAsPlanning) {
  v1::RolloutRecord record = New(CanaryStrategy());
  fleet_.Set({"a", "b", "c", "d", "e"}, Healthy());
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_AWAITING_PROMOTION);
  EXPECT_EQ(record.waves(1).started_at_ms(), 0);
}

TEST_F(RolloutEngineTest, AutoPromoteStartsTheNextWaveInTheSameAdvance) {
  v1::RolloutRecord record = New(CanaryStrategy(/*auto_promote=*/true));
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  fleet_.Set({"a"}, Healthy());
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(5)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_EQ(record.current_wave(), 1);
  EXPECT_EQ(record.waves(0).finished_at_ms(), Ms(kT0 + absl::Seconds(5)));
  EXPECT_EQ(record.waves(1).started_at_ms(), Ms(kT0 + absl::Seconds(5)));
  EXPECT_EQ(record.waves(1).finished_at_ms(), 0);
  EXPECT_EQ(record.waves(2).started_at_ms(), 0);
}

TEST_F(RolloutEngineTest, PromoteStartsTheNextWave) {
  v1::RolloutRecord record = New(CanaryStrategy());
  fleet_.Set({"a"}, Healthy());
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  ASSERT_EQ(record.state(), v1::ROLLOUT_STATE_AWAITING_PROMOTION);
  ASSERT_TRUE(ControlAt(record, kPromote, absl::Minutes(5)).ok());
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_EQ(record.current_wave(), 1);
  EXPECT_EQ(record.waves(1).started_at_ms(), Ms(kT0 + absl::Minutes(5)));
  EXPECT_EQ(record.waves(2).started_at_ms(), 0);
  EXPECT_EQ(record.message(), "");
  EXPECT_EQ(record.updated_at_ms(), Ms(kT0 + absl::Minutes(5)));
  // The promoted wave is gated as any other.
  EXPECT_FALSE(AdvanceAt(record, absl::Minutes(6)));
  fleet_.Set({"b", "c"}, Healthy());
  EXPECT_TRUE(AdvanceAt(record, absl::Minutes(7)));
  EXPECT_EQ(record.current_wave(), 2);
  fleet_.Set({"d", "e"}, Healthy());
  EXPECT_TRUE(AdvanceAt(record, absl::Minutes(8)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_SUCCEEDED);
}

TEST_F(RolloutEngineTest, CanaryThatIsTheOnlyWaveSucceedsWithoutPromotion) {
  v1::RolloutStrategy strategy = CanaryStrategy();
  *strategy.mutable_canary() = Percent(100);
  v1::RolloutRecord record = New(strategy);
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1), {"a", "b"}));
  ASSERT_EQ(record.waves_size(), 1);
  fleet_.Set({"a", "b"}, Healthy());
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(2), {"a", "b"}));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_SUCCEEDED);
}

// ---- Success ----

TEST_F(RolloutEngineTest, AllWavesHealthySucceedsWaveByWave) {
  v1::RolloutRecord record = New(BatchStrategy());
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  ASSERT_EQ(record.waves_size(), 3);
  fleet_.Set({"a"}, Healthy());
  EXPECT_FALSE(AdvanceAt(record, absl::Seconds(2)));  // b still moving
  EXPECT_EQ(record.current_wave(), 0);
  fleet_.Set({"b"}, Healthy());
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(3)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_EQ(record.current_wave(), 1);
  EXPECT_EQ(record.waves(1).started_at_ms(), Ms(kT0 + absl::Seconds(3)));
  fleet_.Set({"c", "d"}, Healthy());
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(4)));
  EXPECT_EQ(record.current_wave(), 2);
  fleet_.Set({"e"}, Healthy());
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(5)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_SUCCEEDED);
  EXPECT_EQ(record.current_wave(), 2);
  EXPECT_EQ(record.finished_at_ms(), Ms(kT0 + absl::Seconds(5)));
  EXPECT_EQ(record.updated_at_ms(), Ms(kT0 + absl::Seconds(5)));
  EXPECT_EQ(record.message(), "");
  for (const v1::WaveRecord& wave : record.waves()) {
    EXPECT_NE(wave.started_at_ms(), 0);
    EXPECT_NE(wave.finished_at_ms(), 0);
    EXPECT_EQ(wave.outcomes_size(), wave.hosts_size());
    for (int outcome : wave.outcomes()) EXPECT_EQ(outcome, v1::ROLLOUT_HOST_STATE_HEALTHY);
    EXPECT_TRUE(wave.errors().empty());
  }
  EXPECT_FALSE(AdvanceAt(record, absl::Seconds(6)));
}

TEST_F(RolloutEngineTest, AlreadyHealthyFleetPassesEveryGateInOnePass) {
  v1::RolloutRecord record = New(BatchStrategy());
  fleet_.Set({"a", "b", "c", "d", "e"}, Healthy());
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_SUCCEEDED);
  EXPECT_EQ(record.current_wave(), 2);
  for (const v1::WaveRecord& wave : record.waves()) {
    EXPECT_EQ(wave.started_at_ms(), Ms(kT0 + absl::Seconds(1)));
    EXPECT_EQ(wave.finished_at_ms(), Ms(kT0 + absl::Seconds(1)));
  }
}

// ---- Failure ----

TEST_F(RolloutEngineTest, FailedHostRollsBackNamingHostAndStep) {
  v1::RolloutRecord record = New(BatchStrategy());
  fleet_.Set({"a", "b"}, Healthy());
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  ASSERT_EQ(record.current_wave(), 1);
  fleet_.Set({"c"}, Healthy());
  fleet_.Set({"d"}, Failed("install", "uv sync exited 1"));
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(9)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_THAT(record.message(), HasSubstr("wave 1"));
  EXPECT_THAT(record.message(), HasSubstr("host d"));
  EXPECT_THAT(record.message(), HasSubstr("install"));
  EXPECT_THAT(record.message(), HasSubstr("uv sync exited 1"));
  EXPECT_THAT(record.message(), HasSubstr("v1"));  // rolled back to from_tag
  EXPECT_THAT(record.message(), Not(HasSubstr("more")));
  EXPECT_EQ(record.finished_at_ms(), Ms(kT0 + absl::Seconds(9)));
  EXPECT_EQ(record.current_wave(), 1);
  const v1::WaveRecord& wave = record.waves(1);
  EXPECT_EQ(wave.finished_at_ms(), Ms(kT0 + absl::Seconds(9)));
  EXPECT_THAT(wave.outcomes(),
              ElementsAre(v1::ROLLOUT_HOST_STATE_HEALTHY, v1::ROLLOUT_HOST_STATE_FAILED));
  ASSERT_EQ(wave.errors().size(), 1u);
  EXPECT_THAT(wave.errors().at("d"), HasSubstr("install"));
  EXPECT_THAT(wave.errors().at("d"), HasSubstr("uv sync exited 1"));
  EXPECT_EQ(record.waves(2).started_at_ms(), 0) << "a later wave must never start";
  EXPECT_THAT(record.waves(0).outcomes(),
              ElementsAre(v1::ROLLOUT_HOST_STATE_HEALTHY, v1::ROLLOUT_HOST_STATE_HEALTHY));
  // Final: nothing moves it again, even a healed fleet.
  fleet_.Set({"d", "e"}, Healthy());
  EXPECT_FALSE(AdvanceAt(record, absl::Seconds(10)));
  EXPECT_EQ(record.waves(2).started_at_ms(), 0);
}

TEST_F(RolloutEngineTest, FailedHostWithoutAutoRollbackFails) {
  v1::RolloutRecord record = New(BatchStrategy(/*auto_rollback=*/false));
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  fleet_.Set({"a"}, Failed("start", "unit failed"));
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(2)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_FAILED);
  EXPECT_THAT(record.message(), HasSubstr("wave 0"));
  EXPECT_THAT(record.message(), HasSubstr("host a"));
  EXPECT_THAT(record.message(), HasSubstr("start"));
  EXPECT_THAT(record.message(), Not(HasSubstr("rolling")));
  // b was still moving: recorded as deploying, no error.
  EXPECT_THAT(record.waves(0).outcomes(),
              ElementsAre(v1::ROLLOUT_HOST_STATE_FAILED, v1::ROLLOUT_HOST_STATE_DEPLOYING));
  EXPECT_EQ(record.waves(0).errors().size(), 1u);
  EXPECT_EQ(record.waves(1).started_at_ms(), 0);
  EXPECT_EQ(record.waves(2).started_at_ms(), 0);
}

TEST_F(RolloutEngineTest, FailedCanaryIsNamedAsTheCanary) {
  v1::RolloutRecord record = New(CanaryStrategy());
  fleet_.Set({"a"}, Failed("health", "HTTP 500"));
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_THAT(record.message(), HasSubstr("canary"));
  EXPECT_THAT(record.message(), HasSubstr("host a"));
  EXPECT_THAT(record.message(), HasSubstr("health"));
  EXPECT_THAT(record.message(), HasSubstr("HTTP 500"));
  EXPECT_EQ(record.waves(1).started_at_ms(), 0);
}

TEST_F(RolloutEngineTest, FailureWithoutStepCarriesTheError) {
  v1::RolloutRecord record = New(BatchStrategy());
  fleet_.Set({"a"}, Failed("", "unit app.service failed"));
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_THAT(record.message(), HasSubstr("unit app.service failed"));
  EXPECT_EQ(record.waves(0).errors().at("a"), "unit app.service failed");
}

TEST_F(RolloutEngineTest, SeveralFailuresAreCounted) {
  v1::RolloutRecord record = New(BatchStrategy());
  fleet_.Set({"a"}, Failed("install", "x"));
  fleet_.Set({"b"}, Gone());
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  EXPECT_THAT(record.message(), HasSubstr("host a"));
  EXPECT_THAT(record.message(), HasSubstr("(and 1 more)"));
  EXPECT_EQ(record.waves(0).errors().size(), 2u);
}

TEST_F(RolloutEngineTest, GoneHostFailsTheWave) {
  v1::RolloutRecord record = New(BatchStrategy());
  fleet_.Set({"a"}, Healthy());
  fleet_.Set({"b"}, Gone());
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_THAT(record.message(), HasSubstr("host b"));
  EXPECT_THAT(record.message(), HasSubstr("lost"));
  EXPECT_THAT(record.waves(0).outcomes(),
              ElementsAre(v1::ROLLOUT_HOST_STATE_HEALTHY, v1::ROLLOUT_HOST_STATE_FAILED));
  EXPECT_THAT(record.waves(0).errors().at("b"), HasSubstr("lost"));
  EXPECT_EQ(record.waves(1).started_at_ms(), 0);
}

TEST_F(RolloutEngineTest, FailureWinsOverHealthyHostsAndTimeout) {
  // One host failed, one healthy, one moving, past the timeout: the failure
  // is reported, not a timeout.
  v1::RolloutStrategy strategy = BatchStrategy();
  *strategy.mutable_batch() = Count(3);
  v1::RolloutRecord record = New(strategy);
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(0)));
  fleet_.Set({"a"}, Healthy());
  fleet_.Set({"b"}, Failed("fetch", "no such ref"));
  EXPECT_TRUE(AdvanceAt(record, absl::Hours(2)));
  EXPECT_THAT(record.message(), HasSubstr("fetch"));
  EXPECT_THAT(record.message(), Not(HasSubstr("within")));
  EXPECT_THAT(record.waves(0).outcomes(),
              ElementsAre(v1::ROLLOUT_HOST_STATE_HEALTHY, v1::ROLLOUT_HOST_STATE_FAILED,
                          v1::ROLLOUT_HOST_STATE_DEPLOYING));
}

// ---- Wave timeout ----

TEST_F(RolloutEngineTest, WaveTimeoutFailsTheGateNotOneTickBefore) {
  v1::RolloutRecord record = New(BatchStrategy());
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(10)));  // wave 0 starts at +10s
  fleet_.Set({"a"}, Healthy());
  const absl::Duration deadline = absl::Seconds(10) + absl::Minutes(30);
  EXPECT_FALSE(AdvanceAt(record, deadline - absl::Milliseconds(1)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_TRUE(AdvanceAt(record, deadline));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_THAT(record.message(), HasSubstr("host b"));
  EXPECT_THAT(record.message(), HasSubstr("not healthy within 30m"));
  EXPECT_THAT(record.waves(0).outcomes(),
              ElementsAre(v1::ROLLOUT_HOST_STATE_HEALTHY, v1::ROLLOUT_HOST_STATE_FAILED));
  EXPECT_EQ(record.waves(0).errors().size(), 1u);
  EXPECT_THAT(record.waves(0).errors().at("b"), HasSubstr("not healthy within"));
  EXPECT_EQ(record.waves(1).started_at_ms(), 0);
}

TEST_F(RolloutEngineTest, WaveTimeoutCountsFromEachWavesStart) {
  v1::RolloutRecord record = New(BatchStrategy());
  ASSERT_TRUE(AdvanceAt(record, absl::ZeroDuration()));
  fleet_.Set({"a", "b"}, Healthy());
  ASSERT_TRUE(AdvanceAt(record, absl::Minutes(29)));  // wave 1 starts at +29m
  ASSERT_EQ(record.current_wave(), 1);
  EXPECT_FALSE(AdvanceAt(record, absl::Minutes(59) - absl::Milliseconds(1)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_TRUE(AdvanceAt(record, absl::Minutes(59)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_THAT(record.message(), HasSubstr("wave 1"));
  EXPECT_THAT(record.message(), HasSubstr("(and 1 more)"));  // c and d
}

TEST_F(RolloutEngineTest, TimeoutWithFailedRollbackOffFails) {
  v1::RolloutRecord record = New(BatchStrategy(/*auto_rollback=*/false));
  ASSERT_TRUE(AdvanceAt(record, absl::ZeroDuration()));
  EXPECT_TRUE(AdvanceAt(record, absl::Minutes(30)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_FAILED);
}

TEST_F(RolloutEngineTest, GateSinceExtendsTheDeadlineForARestartedController) {
  v1::RolloutRecord record = New(BatchStrategy());
  ASSERT_TRUE(AdvanceAt(record, absl::ZeroDuration()));  // wave 0 starts at kT0
  // The controller restarts at +20m: hosts get their 30 minutes again.
  const absl::Time restart = kT0 + absl::Minutes(20);
  auto advance = [&](absl::Duration offset) {
    return engine_.Advance(record, kHosts, fleet_.observer(), kT0 + offset, restart);
  };
  EXPECT_FALSE(advance(absl::Minutes(30)));
  EXPECT_FALSE(advance(absl::Minutes(50) - absl::Milliseconds(1)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_TRUE(advance(absl::Minutes(50)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_ROLLED_BACK);
}

TEST_F(RolloutEngineTest, GateSinceBeforeTheWaveStartChangesNothing) {
  v1::RolloutRecord record = New(BatchStrategy());
  ASSERT_TRUE(AdvanceAt(record, absl::Minutes(10)));  // wave 0 starts at +10m
  auto advance = [&](absl::Duration offset) {
    return engine_.Advance(record, kHosts, fleet_.observer(), kT0 + offset, kT0);
  };
  EXPECT_FALSE(advance(absl::Minutes(40) - absl::Milliseconds(1)));
  EXPECT_TRUE(advance(absl::Minutes(40)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_ROLLED_BACK);
}

TEST_F(RolloutEngineTest, ConfiguredWaveTimeout) {
  const RolloutEngine engine(EngineOptions{.wave_timeout = absl::Seconds(90)});
  v1::RolloutRecord record = New(BatchStrategy());
  auto advance = [&](absl::Duration offset) {
    return engine.Advance(record, kHosts, fleet_.observer(), kT0 + offset, absl::InfinitePast());
  };
  ASSERT_TRUE(advance(absl::ZeroDuration()));
  EXPECT_FALSE(advance(absl::Seconds(89)));
  EXPECT_TRUE(advance(absl::Seconds(90)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_THAT(record.message(), HasSubstr("1m30s"));
}

TEST_F(RolloutEngineTest, AwaitingPromotionNeverTimesOut) {
  v1::RolloutRecord record = New(CanaryStrategy());
  fleet_.Set({"a"}, Healthy());
  ASSERT_TRUE(AdvanceAt(record, absl::ZeroDuration()));
  ASSERT_EQ(record.state(), v1::ROLLOUT_STATE_AWAITING_PROMOTION);
  EXPECT_FALSE(AdvanceAt(record, absl::Hours(24 * 7)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_AWAITING_PROMOTION);
}

// ---- Pause and resume ----

TEST_F(RolloutEngineTest, PausedRunningWaveFinishesButTheNextWaitsForResume) {
  v1::RolloutRecord record = New(BatchStrategy());
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  ASSERT_TRUE(ControlAt(record, kPause, absl::Seconds(2)).ok());
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_PAUSED);
  EXPECT_EQ(record.paused_from(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_THAT(record.message(), HasSubstr("paused"));
  EXPECT_EQ(record.updated_at_ms(), Ms(kT0 + absl::Seconds(2)));
  EXPECT_FALSE(AdvanceAt(record, absl::Seconds(3)));
  fleet_.Set({"a", "b", "c", "d", "e"}, Healthy());
  // The running wave still finishes (its gate is still checked)...
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(4)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_PAUSED);
  EXPECT_EQ(record.waves(0).finished_at_ms(), Ms(kT0 + absl::Seconds(4)));
  EXPECT_THAT(record.waves(0).outcomes(),
              ElementsAre(v1::ROLLOUT_HOST_STATE_HEALTHY, v1::ROLLOUT_HOST_STATE_HEALTHY));
  // ...but the next one does not start.
  EXPECT_EQ(record.current_wave(), 0);
  EXPECT_EQ(record.waves(1).started_at_ms(), 0);
  EXPECT_FALSE(AdvanceAt(record, absl::Hours(5)));
  EXPECT_EQ(record.waves(1).started_at_ms(), 0);
  // Resume: back to running, the next wave starts on the next pass.
  ASSERT_TRUE(ControlAt(record, kResume, absl::Hours(6)).ok());
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_EQ(record.message(), "");
  EXPECT_TRUE(AdvanceAt(record, absl::Hours(6) + absl::Seconds(1)));
  // Everyone was healthy already: it goes through to the end.
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_SUCCEEDED);
  EXPECT_EQ(record.waves(1).started_at_ms(), Ms(kT0 + absl::Hours(6) + absl::Seconds(1)));
}

TEST_F(RolloutEngineTest, ResumedRolloutStartsTheNextWaveThatIsThenGated) {
  v1::RolloutRecord record = New(BatchStrategy());
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  ASSERT_TRUE(ControlAt(record, kPause, absl::Seconds(2)).ok());
  fleet_.Set({"a", "b"}, Healthy());
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(3)));
  ASSERT_TRUE(ControlAt(record, kResume, absl::Seconds(4)).ok());
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(5)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_EQ(record.current_wave(), 1);
  EXPECT_EQ(record.waves(1).started_at_ms(), Ms(kT0 + absl::Seconds(5)));
  EXPECT_EQ(record.waves(1).finished_at_ms(), 0);
}

TEST_F(RolloutEngineTest, PausedWaveThatFailsStillRollsBack) {
  v1::RolloutRecord record = New(BatchStrategy());
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  ASSERT_TRUE(ControlAt(record, kPause, absl::Seconds(2)).ok());
  fleet_.Set({"b"}, Failed("install", "disk full"));
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(3)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_THAT(record.message(), HasSubstr("host b"));
  EXPECT_THAT(record.message(), HasSubstr("disk full"));
  EXPECT_EQ(record.finished_at_ms(), Ms(kT0 + absl::Seconds(3)));
  EXPECT_EQ(record.waves(1).started_at_ms(), 0);
}

TEST_F(RolloutEngineTest, PausedWaveStillTimesOut) {
  v1::RolloutRecord record = New(BatchStrategy(/*auto_rollback=*/false));
  ASSERT_TRUE(AdvanceAt(record, absl::ZeroDuration()));
  ASSERT_TRUE(ControlAt(record, kPause, absl::Minutes(1)).ok());
  EXPECT_FALSE(AdvanceAt(record, absl::Minutes(30) - absl::Milliseconds(1)));
  EXPECT_TRUE(AdvanceAt(record, absl::Minutes(30)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_FAILED);
}

TEST_F(RolloutEngineTest, PausedLastWaveFinishingHealthySucceeds) {
  // Nothing is left to start, so pause holds nothing: the rollout succeeds.
  v1::RolloutStrategy strategy = BatchStrategy();
  *strategy.mutable_batch() = Percent(100);
  v1::RolloutRecord record = New(strategy);
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  ASSERT_TRUE(ControlAt(record, kPause, absl::Seconds(2)).ok());
  fleet_.Set({"a", "b", "c", "d", "e"}, Healthy());
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(3)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_SUCCEEDED);
}

TEST_F(RolloutEngineTest, PauseOfAwaitingPromotionThenResumeAwaitsAgain) {
  v1::RolloutRecord record = New(CanaryStrategy());
  fleet_.Set({"a"}, Healthy());
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  ASSERT_EQ(record.state(), v1::ROLLOUT_STATE_AWAITING_PROMOTION);
  ASSERT_TRUE(ControlAt(record, kPause, absl::Seconds(2)).ok());
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_PAUSED);
  EXPECT_EQ(record.paused_from(), v1::ROLLOUT_STATE_AWAITING_PROMOTION);
  EXPECT_FALSE(AdvanceAt(record, absl::Seconds(3)));
  ASSERT_TRUE(ControlAt(record, kResume, absl::Seconds(4)).ok());
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_AWAITING_PROMOTION);
  EXPECT_THAT(record.message(), HasSubstr("promote"));
  EXPECT_FALSE(AdvanceAt(record, absl::Seconds(5)));
  EXPECT_EQ(record.waves(1).started_at_ms(), 0);
  ASSERT_TRUE(ControlAt(record, kPromote, absl::Seconds(6)).ok());
  EXPECT_EQ(record.current_wave(), 1);
}

TEST_F(RolloutEngineTest, CanaryHealthyWhilePausedResumesToAwaitingPromotion) {
  v1::RolloutRecord record = New(CanaryStrategy());
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  ASSERT_TRUE(ControlAt(record, kPause, absl::Seconds(2)).ok());
  fleet_.Set({"a"}, Healthy());
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(3)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_PAUSED);
  EXPECT_EQ(record.paused_from(), v1::ROLLOUT_STATE_AWAITING_PROMOTION);
  EXPECT_NE(record.waves(0).finished_at_ms(), 0);
  EXPECT_EQ(record.waves(1).started_at_ms(), 0);
  // Promote while paused is refused.
  const std::string before = record.SerializeAsString();
  const absl::Status promote = ControlAt(record, kPromote, absl::Seconds(4));
  EXPECT_EQ(promote.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(promote.message()), HasSubstr("resume"));
  EXPECT_EQ(record.SerializeAsString(), before);
  ASSERT_TRUE(ControlAt(record, kResume, absl::Seconds(5)).ok());
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_AWAITING_PROMOTION);
  EXPECT_FALSE(AdvanceAt(record, absl::Seconds(6)));
  EXPECT_EQ(record.waves(1).started_at_ms(), 0) << "resume must not skip the promotion";
  ASSERT_TRUE(ControlAt(record, kPromote, absl::Seconds(7)).ok());
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_EQ(record.waves(1).started_at_ms(), Ms(kT0 + absl::Seconds(7)));
}

TEST_F(RolloutEngineTest, AutoPromotedCanaryHealthyWhilePausedWaitsForResume) {
  v1::RolloutRecord record = New(CanaryStrategy(/*auto_promote=*/true));
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  ASSERT_TRUE(ControlAt(record, kPause, absl::Seconds(2)).ok());
  fleet_.Set({"a"}, Healthy());
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(3)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_PAUSED);
  EXPECT_EQ(record.paused_from(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_EQ(record.waves(1).started_at_ms(), 0);
  ASSERT_TRUE(ControlAt(record, kResume, absl::Seconds(4)).ok());
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_TRUE(AdvanceAt(record, absl::Seconds(5)));
  EXPECT_EQ(record.current_wave(), 1);
}

// ---- Abort ----

TEST_F(RolloutEngineTest, AbortFromPending) {
  v1::RolloutRecord record = New(BatchStrategy());
  ASSERT_TRUE(ControlAt(record, kAbort, absl::Seconds(1)).ok());
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_ABORTED);
  EXPECT_EQ(record.current_wave(), -1);
  EXPECT_EQ(record.finished_at_ms(), Ms(kT0 + absl::Seconds(1)));
  EXPECT_THAT(record.message(), HasSubstr("aborted"));
  EXPECT_FALSE(AdvanceAt(record, absl::Seconds(2)));
  EXPECT_EQ(record.waves().size(), 0) << "an aborted rollout is never planned";
}

TEST_F(RolloutEngineTest, AbortFromRunningFinishesTheRunningWave) {
  v1::RolloutRecord record = New(BatchStrategy());
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  ASSERT_TRUE(ControlAt(record, kAbort, absl::Seconds(2)).ok());
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_ABORTED);
  EXPECT_THAT(record.message(), HasSubstr("v1"));  // hosts go back to from_tag
  EXPECT_EQ(record.finished_at_ms(), Ms(kT0 + absl::Seconds(2)));
  EXPECT_EQ(record.updated_at_ms(), Ms(kT0 + absl::Seconds(2)));
  EXPECT_EQ(record.waves(0).finished_at_ms(), Ms(kT0 + absl::Seconds(2)));
  EXPECT_EQ(record.waves(1).started_at_ms(), 0);
  fleet_.Set({"a", "b", "c", "d", "e"}, Healthy());
  EXPECT_FALSE(AdvanceAt(record, absl::Seconds(3)));
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_ABORTED);
}

TEST_F(RolloutEngineTest, AbortFromAwaitingPromotionKeepsTheCanaryFinishTime) {
  v1::RolloutRecord record = New(CanaryStrategy());
  fleet_.Set({"a"}, Healthy());
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  ASSERT_TRUE(ControlAt(record, kAbort, absl::Seconds(2)).ok());
  EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_ABORTED);
  EXPECT_EQ(record.waves(0).finished_at_ms(), Ms(kT0 + absl::Seconds(1)));
  EXPECT_EQ(record.waves(1).started_at_ms(), 0);
}

TEST_F(RolloutEngineTest, AbortFromPaused) {
  for (bool from_awaiting : {false, true}) {
    SCOPED_TRACE(from_awaiting ? "paused from awaiting" : "paused from running");
    fleet_.hosts.clear();
    v1::RolloutRecord record = New(CanaryStrategy());
    if (from_awaiting) fleet_.Set({"a"}, Healthy());
    ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1)));
    ASSERT_TRUE(ControlAt(record, kPause, absl::Seconds(2)).ok());
    ASSERT_TRUE(ControlAt(record, kAbort, absl::Seconds(3)).ok());
    EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_ABORTED);
    EXPECT_EQ(record.finished_at_ms(), Ms(kT0 + absl::Seconds(3)));
    EXPECT_NE(record.waves(0).finished_at_ms(), 0);
    EXPECT_FALSE(AdvanceAt(record, absl::Seconds(4)));
  }
}

TEST_F(RolloutEngineTest, UnknownActionIsRefusedAndChangesNothing) {
  v1::RolloutRecord record = New(BatchStrategy());
  ASSERT_TRUE(AdvanceAt(record, absl::Seconds(1)));
  const std::string before = record.SerializeAsString();
  const absl::Status status =
      ControlAt(record, v1::ControlRolloutRequest::ACTION_UNSPECIFIED, absl::Seconds(2));
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(record.SerializeAsString(), before);
}

// ---- Every state × every action ----

// Every state, reached through the engine itself (not by setting fields).
struct NamedState {
  std::string name;
  v1::RolloutRecord record;
};

std::vector<NamedState> EveryState() {
  const RolloutEngine engine{EngineOptions{}};
  FakeFleet fleet;
  auto advance = [&](v1::RolloutRecord& record, absl::Duration offset) {
    return engine.Advance(record, kHosts, fleet.observer(), kT0 + offset, absl::InfinitePast());
  };
  std::vector<NamedState> states;
  v1::RolloutRecord pending = NewRollout(CanaryStrategy(), "rollout", "v1", "v2", kT0);
  states.push_back({"pending", pending});

  v1::RolloutRecord running = pending;
  advance(running, absl::Seconds(1));
  states.push_back({"running", running});

  v1::RolloutRecord paused_from_running = running;
  (void)engine.Control(paused_from_running, kPause, kT0 + absl::Seconds(2));
  states.push_back({"paused_from_running", paused_from_running});

  fleet.Set({"a"}, Healthy());
  v1::RolloutRecord awaiting = running;
  advance(awaiting, absl::Seconds(3));
  states.push_back({"awaiting_promotion", awaiting});

  v1::RolloutRecord paused_from_awaiting = awaiting;
  (void)engine.Control(paused_from_awaiting, kPause, kT0 + absl::Seconds(4));
  states.push_back({"paused_from_awaiting", paused_from_awaiting});

  v1::RolloutRecord running_later = awaiting;
  (void)engine.Control(running_later, kPromote, kT0 + absl::Seconds(5));
  states.push_back({"running_wave_1", running_later});

  // Paused while wave 1 ran, wave 1 finished healthy while paused: held.
  v1::RolloutRecord paused_between_waves = running_later;
  (void)engine.Control(paused_between_waves, kPause, kT0 + absl::Seconds(5));
  fleet.Set({"b", "c"}, Healthy());
  advance(paused_between_waves, absl::Seconds(6));
  states.push_back({"paused_between_waves", paused_between_waves});

  // Resumed: running, its current wave finished, the next not yet started.
  v1::RolloutRecord running_between_waves = paused_between_waves;
  (void)engine.Control(running_between_waves, kResume, kT0 + absl::Seconds(7));
  states.push_back({"running_between_waves", running_between_waves});
  fleet.hosts.erase("b");
  fleet.hosts.erase("c");

  v1::RolloutRecord rolled_back = running_later;
  fleet.Set({"b"}, Failed("install", "boom"));
  advance(rolled_back, absl::Seconds(6));
  states.push_back({"rolled_back", rolled_back});

  v1::RolloutRecord failed = NewRollout(CanaryStrategy(false, /*auto_rollback=*/false), "rollout",
                                        "v1", "v2", kT0);
  advance(failed, absl::Seconds(1));
  (void)engine.Control(failed, kPromote, kT0 + absl::Seconds(5));
  advance(failed, absl::Seconds(6));
  states.push_back({"failed", failed});

  v1::RolloutRecord aborted = running;
  (void)engine.Control(aborted, kAbort, kT0 + absl::Seconds(7));
  states.push_back({"aborted", aborted});

  v1::RolloutRecord succeeded = running_later;
  fleet.Set({"b", "c", "d", "e"}, Healthy());
  advance(succeeded, absl::Seconds(8));
  states.push_back({"succeeded", succeeded});
  return states;
}

TEST(RolloutEveryStateTest, FixturesReachTheirStates) {
  const std::map<std::string, v1::RolloutState> want = {
      {"pending", v1::ROLLOUT_STATE_PENDING},
      {"running", v1::ROLLOUT_STATE_RUNNING},
      {"running_wave_1", v1::ROLLOUT_STATE_RUNNING},
      {"paused_between_waves", v1::ROLLOUT_STATE_PAUSED},
      {"running_between_waves", v1::ROLLOUT_STATE_RUNNING},
      {"awaiting_promotion", v1::ROLLOUT_STATE_AWAITING_PROMOTION},
      {"paused_from_running", v1::ROLLOUT_STATE_PAUSED},
      {"paused_from_awaiting", v1::ROLLOUT_STATE_PAUSED},
      {"succeeded", v1::ROLLOUT_STATE_SUCCEEDED},
      {"failed", v1::ROLLOUT_STATE_FAILED},
      {"aborted", v1::ROLLOUT_STATE_ABORTED},
      {"rolled_back", v1::ROLLOUT_STATE_ROLLED_BACK},
  };
  const std::vector<NamedState> states = EveryState();
  ASSERT_EQ(states.size(), want.size());
  for (const NamedState& state : states) {
    EXPECT_EQ(state.record.state(), want.at(state.name)) << state.name;
  }
}

TEST(RolloutEveryStateTest, EveryActionInEveryState) {
  struct Expect {
    std::string state;
    Action action;
    // UNSPECIFIED: refused.
    v1::RolloutState result;
  };
  constexpr v1::RolloutState kRefused = v1::ROLLOUT_STATE_UNSPECIFIED;
  const std::vector<Expect> table = {
      {"pending", kPause, kRefused},
      {"pending", kResume, kRefused},
      {"pending", kPromote, kRefused},
      {"pending", kAbort, v1::ROLLOUT_STATE_ABORTED},
      {"running", kPause, v1::ROLLOUT_STATE_PAUSED},
      {"running", kResume, kRefused},
      {"running", kPromote, kRefused},
      {"running", kAbort, v1::ROLLOUT_STATE_ABORTED},
      {"running_wave_1", kPause, v1::ROLLOUT_STATE_PAUSED},
      {"running_wave_1", kResume, kRefused},
      {"running_wave_1", kPromote, kRefused},
      {"running_wave_1", kAbort, v1::ROLLOUT_STATE_ABORTED},
      {"running_between_waves", kPause, v1::ROLLOUT_STATE_PAUSED},
      {"running_between_waves", kResume, kRefused},
      {"running_between_waves", kPromote, kRefused},
      {"running_between_waves", kAbort, v1::ROLLOUT_STATE_ABORTED},
      {"paused_between_waves", kPause, kRefused},
      {"paused_between_waves", kResume, v1::ROLLOUT_STATE_RUNNING},
      {"paused_between_waves", kPromote, kRefused},
      {"paused_between_waves", kAbort, v1::ROLLOUT_STATE_ABORTED},
      {"awaiting_promotion", kPause, v1::ROLLOUT_STATE_PAUSED},
      {"awaiting_promotion", kResume, kRefused},
      {"awaiting_promotion", kPromote, v1::ROLLOUT_STATE_RUNNING},
      {"awaiting_promotion", kAbort, v1::ROLLOUT_STATE_ABORTED},
      {"paused_from_running", kPause, kRefused},
      {"paused_from_running", kResume, v1::ROLLOUT_STATE_RUNNING},
      {"paused_from_running", kPromote, kRefused},
      {"paused_from_running", kAbort, v1::ROLLOUT_STATE_ABORTED},
      {"paused_from_awaiting", kPause, kRefused},
      {"paused_from_awaiting", kResume, v1::ROLLOUT_STATE_AWAITING_PROMOTION},
      {"paused_from_awaiting", kPromote, kRefused},
      {"paused_from_awaiting", kAbort, v1::ROLLOUT_STATE_ABORTED},
      {"succeeded", kPause, kRefused},
      {"succeeded", kResume, kRefused},
      {"succeeded", kPromote, kRefused},
      {"succeeded", kAbort, kRefused},
      {"failed", kPause, kRefused},
      {"failed", kResume, kRefused},
      {"failed", kPromote, kRefused},
      {"failed", kAbort, kRefused},
      {"aborted", kPause, kRefused},
      {"aborted", kResume, kRefused},
      {"aborted", kPromote, kRefused},
      {"aborted", kAbort, kRefused},
      {"rolled_back", kPause, kRefused},
      {"rolled_back", kResume, kRefused},
      {"rolled_back", kPromote, kRefused},
      {"rolled_back", kAbort, kRefused},
  };
  std::map<std::string, v1::RolloutRecord> states;
  for (NamedState& state : EveryState()) states[state.name] = state.record;
  ASSERT_EQ(table.size(), states.size() * 4) << "every state × every action";

  const RolloutEngine engine{EngineOptions{}};
  const absl::Time now = kT0 + absl::Hours(1);
  for (const Expect& expect : table) {
    SCOPED_TRACE(expect.state + " × " + v1::ControlRolloutRequest::Action_Name(expect.action));
    v1::RolloutRecord record = states.at(expect.state);
    const std::string before = record.SerializeAsString();
    const absl::Status status = engine.Control(record, expect.action, now);
    if (expect.result == kRefused) {
      EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
      EXPECT_FALSE(status.message().empty());
      EXPECT_EQ(record.SerializeAsString(), before) << "a refused action changed the record";
      continue;
    }
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_EQ(record.state(), expect.result);
    EXPECT_EQ(record.updated_at_ms(), Ms(now));
    EXPECT_EQ(IsActive(record.state()), expect.action != kAbort);
    if (expect.action == kAbort) EXPECT_EQ(record.finished_at_ms(), Ms(now));
    else EXPECT_EQ(record.finished_at_ms(), 0);
    // Control never re-plans.
    EXPECT_EQ(record.waves_size(), states.at(expect.state).waves_size());
  }
}

TEST(RolloutEveryStateTest, RefusalsSayWhy) {
  std::map<std::string, v1::RolloutRecord> states;
  for (NamedState& state : EveryState()) states[state.name] = state.record;
  const RolloutEngine engine{EngineOptions{}};
  v1::RolloutRecord succeeded = states.at("succeeded");
  absl::Status status = engine.Control(succeeded, kAbort, kT0);
  EXPECT_THAT(std::string(status.message()), HasSubstr("succeeded"));
  v1::RolloutRecord running = states.at("running");
  status = engine.Control(running, kPromote, kT0);
  EXPECT_THAT(std::string(status.message()), HasSubstr("running"));
  status = engine.Control(running, kResume, kT0);
  EXPECT_THAT(std::string(status.message()), HasSubstr("running"));
  v1::RolloutRecord paused = states.at("paused_from_running");
  status = engine.Control(paused, kPause, kT0);
  EXPECT_THAT(std::string(status.message()), HasSubstr("paused"));
}

TEST(RolloutEveryStateTest, AdvanceOnAFinalStateChangesNothing) {
  const RolloutEngine engine{EngineOptions{}};
  FakeFleet fleet;
  for (NamedState& state : EveryState()) {
    if (IsActive(state.record.state())) continue;
    SCOPED_TRACE(state.name);
    for (const HostObservation& seen : {Healthy(), Moving(), Failed("x", "y"), Gone()}) {
      for (const std::string& host : kHosts) fleet.hosts[host] = seen;
      const std::string before = state.record.SerializeAsString();
      EXPECT_FALSE(engine.Advance(state.record, kHosts, fleet.observer(), kT0 + absl::Hours(99),
                                  absl::InfinitePast()));
      EXPECT_EQ(state.record.SerializeAsString(), before);
    }
  }
}

// The caller persists whenever Advance returns true: with nothing new
// observed, a second pass at the same or a later time (before any timeout)
// must report no change, in every state and every fleet condition.
TEST(RolloutEveryStateTest, AdvanceTwiceIsIdempotent) {
  const RolloutEngine engine{EngineOptions{}};
  for (const NamedState& state : EveryState()) {
    for (const HostObservation& seen : {Healthy(), Moving(), Failed("x", "y"), Gone()}) {
      SCOPED_TRACE(state.name + " with every host " +
                   std::to_string(static_cast<int>(seen.progress)));
      FakeFleet fleet;
      for (const std::string& host : kHosts) fleet.hosts[host] = seen;
      v1::RolloutRecord record = state.record;
      const absl::Time now = kT0 + absl::Minutes(1);
      engine.Advance(record, kHosts, fleet.observer(), now, absl::InfinitePast());
      const std::string once = Bytes(record);
      EXPECT_FALSE(engine.Advance(record, kHosts, fleet.observer(), now, absl::InfinitePast()));
      EXPECT_EQ(Bytes(record), once);
      EXPECT_FALSE(engine.Advance(record, kHosts, fleet.observer(), now + absl::Seconds(1),
                                  absl::InfinitePast()));
      EXPECT_EQ(Bytes(record), once);
    }
  }
}

// A controller restarted in any state reads the record back from the store:
// the parsed copy must continue exactly as the one that never left memory.
TEST(RolloutEveryStateTest, RestartAtEveryStateContinuesIdentically) {
  const RolloutEngine engine{EngineOptions{}};
  for (const NamedState& state : EveryState()) {
    // Each of these fleet conditions, at a time inside and past the timeout.
    for (const HostObservation& seen : {Healthy(), Moving(), Failed("install", "boom"), Gone()}) {
      for (absl::Duration offset : {absl::Minutes(1), absl::Hours(2)}) {
        SCOPED_TRACE(state.name + " with every host " +
                     std::to_string(static_cast<int>(seen.progress)) + " at +" +
                     absl::FormatDuration(offset));
        FakeFleet fleet;
        for (const std::string& host : kHosts) fleet.hosts[host] = seen;
        v1::RolloutRecord memory = state.record;
        v1::RolloutRecord restored;
        ASSERT_TRUE(restored.ParseFromString(state.record.SerializeAsString()));
        const absl::Time now = kT0 + offset;
        const bool memory_changed =
            engine.Advance(memory, kHosts, fleet.observer(), now, absl::InfinitePast());
        const bool restored_changed =
            engine.Advance(restored, kHosts, fleet.observer(), now, absl::InfinitePast());
        EXPECT_EQ(memory_changed, restored_changed);
        EXPECT_EQ(Bytes(memory), Bytes(restored));
        // And the same operator actions apply the same way.
        for (Action action : {kPause, kResume, kPromote, kAbort}) {
          v1::RolloutRecord a = memory;
          v1::RolloutRecord b;
          ASSERT_TRUE(b.ParseFromString(memory.SerializeAsString()));
          EXPECT_EQ(engine.Control(a, action, now).code(), engine.Control(b, action, now).code());
          EXPECT_EQ(Bytes(a), Bytes(b));
        }
      }
    }
  }
}

// A full rollout driven step by step, with a simulated restart (serialize,
// parse) between every two steps; it must end exactly as the uninterrupted
// run, step for step.
TEST(RolloutEveryStateTest, RestartBetweenEveryStepOfAFullRollout) {
  const RolloutEngine engine{EngineOptions{}};
  FakeFleet fleet;
  v1::RolloutRecord straight = NewRollout(CanaryStrategy(), "rollout", "v1", "v2", kT0);
  v1::RolloutRecord restarted = straight;
  struct Step {
    std::function<void()> fleet_change;
    std::optional<Action> action;
  };
  const std::vector<Step> steps = {
      {[] {}, std::nullopt},                                             // plan, canary starts
      {[&] { fleet.Set({"a"}, Healthy()); }, std::nullopt},              // awaiting
      {[] {}, kPause},                                                   // paused (awaiting)
      {[] {}, kResume},                                                  // awaiting
      {[] {}, kPromote},                                                 // wave 1 runs
      {[] {}, kPause},                                                   // paused (running)
      {[&] { fleet.Set({"b", "c"}, Healthy()); }, std::nullopt},         // wave 1 done, held
      {[] {}, kResume},                                                  // running
      {[] {}, std::nullopt},                                             // wave 2 starts
      {[&] { fleet.Set({"d"}, Healthy()); }, std::nullopt},              // still moving
      {[&] { fleet.Set({"e"}, Healthy()); }, std::nullopt},              // succeeded
  };
  absl::Time now = kT0;
  for (size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE("step " + std::to_string(i));
    now += absl::Seconds(10);
    v1::RolloutRecord reread;
    ASSERT_TRUE(reread.ParseFromString(restarted.SerializeAsString()));
    restarted = reread;
    steps[i].fleet_change();
    if (steps[i].action) {
      EXPECT_EQ(engine.Control(straight, *steps[i].action, now).ok(),
                engine.Control(restarted, *steps[i].action, now).ok());
    }
    EXPECT_EQ(engine.Advance(straight, kHosts, fleet.observer(), now, absl::InfinitePast()),
              engine.Advance(restarted, kHosts, fleet.observer(), now, absl::InfinitePast()));
    EXPECT_EQ(Bytes(straight), Bytes(restarted));
  }
  EXPECT_EQ(straight.state(), v1::ROLLOUT_STATE_SUCCEEDED);
}

}  // namespace
}  // namespace pyservice::controller::rollout
