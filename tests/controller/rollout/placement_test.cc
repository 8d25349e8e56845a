// Where a rollout puts each host (controller/rollout/placement.h), in every
// state, on records made by the rollout engine itself.
#include "controller/rollout/placement.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "controller/rollout/rollout_engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::controller::rollout {
namespace {

using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;
using Progress = HostObservation::Progress;

const absl::Time kT0 = absl::FromUnixSeconds(1'790'000'000);
const std::vector<std::string> kHosts = {"a", "b", "c", "d", "e"};

// Canary [a], then [b c], [d e].
v1::RolloutStrategy Strategy(bool auto_rollback) {
  v1::RolloutStrategy strategy;
  strategy.mutable_canary()->set_count(1);
  strategy.mutable_batch()->set_count(2);
  strategy.set_auto_rollback(auto_rollback);
  return strategy;
}

class PlacementTest : public ::testing::Test {
 protected:
  void Advance(v1::RolloutRecord& record) {
    now_ += absl::Seconds(1);
    engine_.Advance(record, kHosts, observer_, now_, absl::InfinitePast());
  }
  void Control(v1::RolloutRecord& record, v1::ControlRolloutRequest::Action action) {
    now_ += absl::Seconds(1);
    ASSERT_TRUE(engine_.Control(record, action, now_).ok());
  }
  // Each builder starts from a fleet where every host is still moving.
  v1::RolloutRecord Pending(bool auto_rollback = true) {
    seen_.clear();
    return NewRollout(Strategy(auto_rollback), "rollout", "v1", "v2", kT0);
  }
  // Running its canary wave [a].
  v1::RolloutRecord RunningCanary(bool auto_rollback = true) {
    v1::RolloutRecord record = Pending(auto_rollback);
    Advance(record);
    EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_RUNNING);
    return record;
  }
  v1::RolloutRecord Awaiting() {
    v1::RolloutRecord record = RunningCanary();
    seen_["a"] = Progress::kHealthy;
    Advance(record);
    EXPECT_EQ(record.state(), v1::ROLLOUT_STATE_AWAITING_PROMOTION);
    return record;
  }
  // Running wave 1 [b c].
  v1::RolloutRecord RunningWave1(bool auto_rollback = true) {
    v1::RolloutRecord record = RunningCanary(auto_rollback);
    seen_["a"] = Progress::kHealthy;
    Advance(record);
    Control(record, v1::ControlRolloutRequest::ACTION_PROMOTE);
    EXPECT_EQ(record.current_wave(), 1);
    return record;
  }

  static void ExpectPlaced(const Placement& placement, std::vector<std::string> on_to,
                           std::vector<std::string> prepare) {
    EXPECT_FALSE(placement.others_on_to);
    EXPECT_THAT(placement.on_to, UnorderedElementsAreArray(on_to));
    EXPECT_THAT(placement.prepare, UnorderedElementsAreArray(prepare));
    for (const std::string& host : kHosts) {
      const bool to = std::find(on_to.begin(), on_to.end(), host) != on_to.end();
      const bool prep = std::find(prepare.begin(), prepare.end(), host) != prepare.end();
      EXPECT_EQ(placement.OnTo(host), to) << host;
      EXPECT_EQ(placement.Prepares(host), prep) << host;
      EXPECT_FALSE(to && prep) << host << " both on to and preparing";
    }
    EXPECT_FALSE(placement.OnTo("late-joiner"));
    EXPECT_FALSE(placement.Prepares("late-joiner"));
  }

  RolloutEngine engine_{EngineOptions{}};
  std::map<std::string, Progress> seen_;
  Observer observer_ = [this](const std::string& host) {
    HostObservation observation;
    auto it = seen_.find(host);
    if (it != seen_.end()) observation.progress = it->second;
    if (observation.progress == Progress::kFailed) observation.error = "boom";
    return observation;
  };
  absl::Time now_ = kT0;
};

TEST_F(PlacementTest, CarriesTheRolloutId) {
  EXPECT_EQ(PlaceHosts(42, Pending()).rollout_id, 42u);
  EXPECT_EQ(PlaceHosts(7, RunningCanary()).rollout_id, 7u);
}

TEST_F(PlacementTest, PendingKeepsEveryHostOnFrom) {
  ExpectPlaced(PlaceHosts(1, Pending()), {}, {});
}

TEST_F(PlacementTest, RunningPutsStartedWavesOnToAndPreparesTheRest) {
  ExpectPlaced(PlaceHosts(1, RunningCanary()), {"a"}, {"b", "c", "d", "e"});
  ExpectPlaced(PlaceHosts(1, RunningWave1()), {"a", "b", "c"}, {"d", "e"});
}

TEST_F(PlacementTest, AwaitingPromotionKeepsTheCanaryOnTo) {
  ExpectPlaced(PlaceHosts(1, Awaiting()), {"a"}, {"b", "c", "d", "e"});
}

TEST_F(PlacementTest, PausedPlacesAsRunning) {
  v1::RolloutRecord from_running = RunningWave1();
  Control(from_running, v1::ControlRolloutRequest::ACTION_PAUSE);
  ASSERT_EQ(from_running.state(), v1::ROLLOUT_STATE_PAUSED);
  ExpectPlaced(PlaceHosts(1, from_running), {"a", "b", "c"}, {"d", "e"});

  v1::RolloutRecord from_awaiting = Awaiting();
  Control(from_awaiting, v1::ControlRolloutRequest::ACTION_PAUSE);
  ASSERT_EQ(from_awaiting.state(), v1::ROLLOUT_STATE_PAUSED);
  ExpectPlaced(PlaceHosts(1, from_awaiting), {"a"}, {"b", "c", "d", "e"});
}

TEST_F(PlacementTest, PausedWithItsWaveFinishedStillPreparesTheNext) {
  v1::RolloutRecord record = RunningWave1();
  Control(record, v1::ControlRolloutRequest::ACTION_PAUSE);
  seen_["b"] = seen_["c"] = Progress::kHealthy;
  Advance(record);
  ASSERT_EQ(record.state(), v1::ROLLOUT_STATE_PAUSED);
  ASSERT_NE(record.waves(1).finished_at_ms(), 0);
  ExpectPlaced(PlaceHosts(1, record), {"a", "b", "c"}, {"d", "e"});
}

TEST_F(PlacementTest, OnlyTheNextTwoWavesPrepare) {
  v1::RolloutStrategy strategy;
  strategy.mutable_batch()->set_count(1);
  v1::RolloutRecord record = NewRollout(strategy, "rollout", "v1", "v2", kT0);
  engine_.Advance(record, kHosts, observer_, kT0, absl::InfinitePast());
  ASSERT_EQ(record.current_wave(), 0);
  ExpectPlaced(PlaceHosts(1, record), {"a"}, {"b", "c"});
}

TEST_F(PlacementTest, SucceededPutsEveryHostOnToLateJoinersToo) {
  v1::RolloutRecord record = RunningWave1();
  for (const std::string& host : kHosts) seen_[host] = Progress::kHealthy;
  Advance(record);
  ASSERT_EQ(record.state(), v1::ROLLOUT_STATE_SUCCEEDED);
  const Placement placement = PlaceHosts(1, record);
  EXPECT_TRUE(placement.others_on_to);
  for (const std::string& host : kHosts) EXPECT_TRUE(placement.OnTo(host)) << host;
  EXPECT_TRUE(placement.OnTo("late-joiner"));
  EXPECT_THAT(placement.prepare, IsEmpty());
}

TEST_F(PlacementTest, SucceededWithoutHostsPutsEveryoneOnTo) {
  v1::RolloutRecord record = Pending();
  engine_.Advance(record, {}, observer_, kT0, absl::InfinitePast());
  ASSERT_EQ(record.state(), v1::ROLLOUT_STATE_SUCCEEDED);
  EXPECT_TRUE(PlaceHosts(1, record).OnTo("late-joiner"));
}

TEST_F(PlacementTest, FailedKeepsStartedWavesOnToAndPreparesNothing) {
  v1::RolloutRecord record = RunningWave1(/*auto_rollback=*/false);
  seen_["b"] = Progress::kFailed;
  Advance(record);
  ASSERT_EQ(record.state(), v1::ROLLOUT_STATE_FAILED);
  ExpectPlaced(PlaceHosts(1, record), {"a", "b", "c"}, {});
}

TEST_F(PlacementTest, FailedCanaryKeepsOnlyTheCanaryOnTo) {
  v1::RolloutRecord record = RunningCanary(/*auto_rollback=*/false);
  seen_["a"] = Progress::kGone;
  Advance(record);
  ASSERT_EQ(record.state(), v1::ROLLOUT_STATE_FAILED);
  ExpectPlaced(PlaceHosts(1, record), {"a"}, {});
}

TEST_F(PlacementTest, RolledBackPutsEveryHostBackOnFrom) {
  v1::RolloutRecord record = RunningWave1(/*auto_rollback=*/true);
  seen_["c"] = Progress::kFailed;
  Advance(record);
  ASSERT_EQ(record.state(), v1::ROLLOUT_STATE_ROLLED_BACK);
  ExpectPlaced(PlaceHosts(1, record), {}, {});
}

TEST_F(PlacementTest, AbortedPutsEveryHostBackOnFrom) {
  for (int at = 0; at < 4; ++at) {
    SCOPED_TRACE(at);
    v1::RolloutRecord record = at == 0   ? Pending()
                               : at == 1 ? RunningCanary()
                               : at == 2 ? Awaiting()
                                         : RunningWave1();
    Control(record, v1::ControlRolloutRequest::ACTION_ABORT);
    ASSERT_EQ(record.state(), v1::ROLLOUT_STATE_ABORTED);
    ExpectPlaced(PlaceHosts(1, record), {}, {});
  }
}

TEST_F(PlacementTest, ARestartedControllerPlacesEveryHostAsBefore) {
  std::vector<v1::RolloutRecord> records = {Pending(), RunningCanary(), Awaiting(), RunningWave1()};
  for (const v1::RolloutRecord& record : records) {
    v1::RolloutRecord reread;
    ASSERT_TRUE(reread.ParseFromString(record.SerializeAsString()));
    const Placement before = PlaceHosts(3, record);
    const Placement after = PlaceHosts(3, reread);
    EXPECT_EQ(before.others_on_to, after.others_on_to);
    EXPECT_EQ(before.on_to, after.on_to);
    EXPECT_EQ(before.prepare, after.prepare);
  }
}

}  // namespace
}  // namespace pyservice::controller::rollout
