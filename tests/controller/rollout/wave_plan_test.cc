// The rollout strategy's precedence and the wave plan's rounding rules
// (controller/rollout/wave_plan.h): pure functions on plain values.
#include "controller/rollout/wave_plan.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::controller::rollout {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

v1::WaveSize Percent(uint32_t percent) {
  v1::WaveSize size;
  size.set_percent(percent);
  return size;
}

v1::WaveSize Count(uint32_t count) {
  v1::WaveSize size;
  size.set_count(count);
  return size;
}

std::vector<std::string> Hosts(size_t n) {
  std::vector<std::string> hosts;
  hosts.reserve(n);
  for (size_t i = 0; i < n; ++i) hosts.push_back(absl::StrCat("h", i));
  return hosts;
}

v1::RolloutStrategy Strategy(std::optional<v1::WaveSize> canary, std::optional<v1::WaveSize> batch) {
  v1::RolloutStrategy strategy;
  if (canary) *strategy.mutable_canary() = *canary;
  if (batch) *strategy.mutable_batch() = *batch;
  strategy.set_auto_rollback(true);
  return strategy;
}

std::vector<std::vector<std::string>> HostsOf(const std::vector<v1::WaveRecord>& waves) {
  std::vector<std::vector<std::string>> out;
  for (const v1::WaveRecord& wave : waves) out.emplace_back(wave.hosts().begin(), wave.hosts().end());
  return out;
}

std::vector<bool> CanaryFlags(const std::vector<v1::WaveRecord>& waves) {
  std::vector<bool> out;
  for (const v1::WaveRecord& wave : waves) out.push_back(wave.canary());
  return out;
}

// ---- WaveHosts ----

TEST(WaveHostsTest, PercentRoundsUp) {
  EXPECT_EQ(WaveHosts(Percent(10), 5), 1u);    // 0.5 -> 1
  EXPECT_EQ(WaveHosts(Percent(25), 4), 1u);    // exact
  EXPECT_EQ(WaveHosts(Percent(25), 10), 3u);   // 2.5 -> 3
  EXPECT_EQ(WaveHosts(Percent(50), 3), 2u);    // 1.5 -> 2
  EXPECT_EQ(WaveHosts(Percent(33), 100), 33u);
  EXPECT_EQ(WaveHosts(Percent(1), 1000), 10u);
  EXPECT_EQ(WaveHosts(Percent(1), 101), 2u);   // 1.01 -> 2
  EXPECT_EQ(WaveHosts(Percent(10), 10000), 1000u);
}

TEST(WaveHostsTest, TinyPercentTakesAtLeastOneHost) {
  EXPECT_EQ(WaveHosts(Percent(1), 1), 1u);
  EXPECT_EQ(WaveHosts(Percent(1), 2), 1u);
  EXPECT_EQ(WaveHosts(Percent(1), 99), 1u);
}

TEST(WaveHostsTest, HundredPercentAndMoreTakeAllHosts) {
  EXPECT_EQ(WaveHosts(Percent(100), 7), 7u);
  EXPECT_EQ(WaveHosts(Percent(100), 1), 1u);
  EXPECT_EQ(WaveHosts(Percent(101), 7), 7u);
  EXPECT_EQ(WaveHosts(Percent(250), 7), 7u);
  EXPECT_EQ(WaveHosts(Percent(4'000'000'000u), 7), 7u);
}

TEST(WaveHostsTest, CountIsCappedAtTheHosts) {
  EXPECT_EQ(WaveHosts(Count(2), 10), 2u);
  EXPECT_EQ(WaveHosts(Count(10), 10), 10u);
  EXPECT_EQ(WaveHosts(Count(11), 10), 10u);
  EXPECT_EQ(WaveHosts(Count(1'000'000), 3), 3u);
  EXPECT_EQ(WaveHosts(Count(1), 1), 1u);
}

TEST(WaveHostsTest, UnsetOrZeroPercentIsNoWave) {
  EXPECT_EQ(WaveHosts(v1::WaveSize(), 10), 0u);
  EXPECT_EQ(WaveHosts(Percent(0), 10), 0u);
  EXPECT_EQ(WaveHosts(v1::WaveSize(), 0), 0u);
  EXPECT_EQ(WaveHosts(Percent(0), 0), 0u);
}

// ---- PlanWaves ----

TEST(PlanWavesTest, NoHostsNoWaves) {
  EXPECT_EQ(PlanWaves(Strategy(Percent(10), Percent(25)), {}).size(), 0u);
  EXPECT_EQ(PlanWaves(Strategy(Count(1), Count(1)), {}).size(), 0u);
  EXPECT_EQ(PlanWaves(Strategy(std::nullopt, std::nullopt), {}).size(), 0u);
}

TEST(PlanWavesTest, NoCanaryByDefault) {
  const v1::RolloutStrategy strategy = ResolveStrategy(v1::AppSpec(), {});
  const std::vector<v1::WaveRecord> waves = PlanWaves(strategy, Hosts(4));
  EXPECT_THAT(HostsOf(waves), ElementsAre(ElementsAre("h0"), ElementsAre("h1"), ElementsAre("h2"),
                                          ElementsAre("h3")));
  EXPECT_THAT(CanaryFlags(waves), ElementsAre(false, false, false, false));
}

TEST(PlanWavesTest, ZeroPercentCanaryIsNoCanary) {
  const std::vector<v1::WaveRecord> waves = PlanWaves(Strategy(Percent(0), Percent(50)), Hosts(4));
  EXPECT_THAT(HostsOf(waves), ElementsAre(ElementsAre("h0", "h1"), ElementsAre("h2", "h3")));
  EXPECT_THAT(CanaryFlags(waves), ElementsAre(false, false));
}

TEST(PlanWavesTest, CanaryFirstThenBatchesInTheOrderGiven) {
  const std::vector<std::string> hosts = {"web3", "web1", "web2", "web5", "web4"};
  const std::vector<v1::WaveRecord> waves = PlanWaves(Strategy(Count(1), Count(2)), hosts);
  EXPECT_THAT(HostsOf(waves), ElementsAre(ElementsAre("web3"), ElementsAre("web1", "web2"),
                                          ElementsAre("web5", "web4")));
  EXPECT_THAT(CanaryFlags(waves), ElementsAre(true, false, false));
  for (const v1::WaveRecord& wave : waves) {
    EXPECT_EQ(wave.started_at_ms(), 0);
    EXPECT_EQ(wave.finished_at_ms(), 0);
    EXPECT_THAT(wave.outcomes(), IsEmpty());
    EXPECT_TRUE(wave.errors().empty());
  }
}

TEST(PlanWavesTest, CanaryPercentRoundsUp) {
  // 10% of 5 hosts is 1 canary; batch 50% of 5 is 3 (of all hosts).
  const std::vector<v1::WaveRecord> waves = PlanWaves(Strategy(Percent(10), Percent(50)), Hosts(5));
  EXPECT_THAT(HostsOf(waves),
              ElementsAre(ElementsAre("h0"), ElementsAre("h1", "h2", "h3"), ElementsAre("h4")));
  EXPECT_THAT(CanaryFlags(waves), ElementsAre(true, false, false));
}

TEST(PlanWavesTest, BatchPercentIsOfAllHostsNotOfTheRest) {
  // 20 hosts, canary 50% = 10, batch 25% = 5 of all 20 hosts each (25% of
  // the 10 left would be waves of 3, 3, 3, 1).
  const std::vector<v1::WaveRecord> waves = PlanWaves(Strategy(Percent(50), Percent(25)), Hosts(20));
  ASSERT_EQ(waves.size(), 3u);
  EXPECT_EQ(waves[0].hosts_size(), 10);
  EXPECT_TRUE(waves[0].canary());
  EXPECT_EQ(waves[1].hosts_size(), 5);
  EXPECT_EQ(waves[2].hosts_size(), 5);
}

TEST(PlanWavesTest, LastBatchTakesTheRest) {
  // 25% of 10 = 3: waves of 3, 3, 3, 1.
  const std::vector<v1::WaveRecord> waves = PlanWaves(Strategy(std::nullopt, Percent(25)), Hosts(10));
  ASSERT_EQ(waves.size(), 4u);
  EXPECT_EQ(waves[0].hosts_size(), 3);
  EXPECT_EQ(waves[1].hosts_size(), 3);
  EXPECT_EQ(waves[2].hosts_size(), 3);
  EXPECT_THAT(waves[3].hosts(), ElementsAre("h9"));
}

TEST(PlanWavesTest, EveryHostExactlyOnceInOrder) {
  for (size_t n : {1u, 2u, 3u, 7u, 10u, 33u, 100u}) {
    for (uint32_t canary : {0u, 1u, 10u, 50u, 100u}) {
      for (uint32_t batch : {1u, 10u, 25u, 33u, 100u}) {
        SCOPED_TRACE(testing::Message() << n << " hosts, canary " << canary << "%, batch " << batch
                                        << "%");
        const std::vector<std::string> hosts = Hosts(n);
        const std::vector<v1::WaveRecord> waves =
            PlanWaves(Strategy(Percent(canary), Percent(batch)), hosts);
        std::vector<std::string> all;
        for (const v1::WaveRecord& wave : waves) {
          EXPECT_GT(wave.hosts_size(), 0);
          all.insert(all.end(), wave.hosts().begin(), wave.hosts().end());
        }
        EXPECT_THAT(all, ElementsAreArray(hosts));
        for (size_t i = 1; i < waves.size(); ++i) EXPECT_FALSE(waves[i].canary());
      }
    }
  }
}

TEST(PlanWavesTest, CanaryCoveringAllHostsIsASingleCanaryWave) {
  for (const v1::WaveSize& canary : {Percent(100), Percent(150), Count(3), Count(50)}) {
    SCOPED_TRACE(canary.ShortDebugString());
    const std::vector<v1::WaveRecord> waves = PlanWaves(Strategy(canary, Percent(25)), Hosts(3));
    ASSERT_EQ(waves.size(), 1u);
    EXPECT_TRUE(waves[0].canary());
    EXPECT_THAT(waves[0].hosts(), ElementsAre("h0", "h1", "h2"));
  }
}

TEST(PlanWavesTest, HundredPercentBatchIsOneWave) {
  const std::vector<v1::WaveRecord> waves = PlanWaves(Strategy(std::nullopt, Percent(100)), Hosts(6));
  ASSERT_EQ(waves.size(), 1u);
  EXPECT_FALSE(waves[0].canary());
  EXPECT_EQ(waves[0].hosts_size(), 6);
  // and more than 100%, or a count larger than the hosts.
  EXPECT_EQ(PlanWaves(Strategy(std::nullopt, Percent(200)), Hosts(6)).size(), 1u);
  EXPECT_EQ(PlanWaves(Strategy(std::nullopt, Count(7)), Hosts(6)).size(), 1u);
}

TEST(PlanWavesTest, CountLargerThanTheRestTakesTheRest) {
  // canary 2 of 5, batch 4: second wave takes the 3 left.
  const std::vector<v1::WaveRecord> waves = PlanWaves(Strategy(Count(2), Count(4)), Hosts(5));
  EXPECT_THAT(HostsOf(waves), ElementsAre(ElementsAre("h0", "h1"), ElementsAre("h2", "h3", "h4")));
}

TEST(PlanWavesTest, MissingBatchMeansTheRestInOneWave) {
  const std::vector<v1::WaveRecord> waves = PlanWaves(Strategy(Count(1), std::nullopt), Hosts(5));
  EXPECT_THAT(HostsOf(waves),
              ElementsAre(ElementsAre("h0"), ElementsAre("h1", "h2", "h3", "h4")));
  const std::vector<v1::WaveRecord> zero = PlanWaves(Strategy(Count(1), Percent(0)), Hosts(5));
  EXPECT_EQ(zero.size(), 2u);
}

TEST(PlanWavesTest, TenThousandHostsAtTenPercentAreTenWavesOfAThousand) {
  const std::vector<std::string> hosts = Hosts(10'000);
  const std::vector<v1::WaveRecord> waves = PlanWaves(Strategy(std::nullopt, Percent(10)), hosts);
  ASSERT_EQ(waves.size(), 10u);
  for (size_t i = 0; i < waves.size(); ++i) {
    EXPECT_EQ(waves[i].hosts_size(), 1000) << "wave " << i;
    EXPECT_FALSE(waves[i].canary());
    EXPECT_EQ(waves[i].hosts(0), hosts[i * 1000]);
  }
}

TEST(PlanWavesTest, SingleHost) {
  const std::vector<v1::WaveRecord> waves = PlanWaves(Strategy(Percent(10), Percent(25)), {"only"});
  ASSERT_EQ(waves.size(), 1u);
  EXPECT_TRUE(waves[0].canary());
  const std::vector<v1::WaveRecord> plain = PlanWaves(Strategy(std::nullopt, Percent(25)), {"only"});
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_FALSE(plain[0].canary());
}

// ---- ResolveStrategy ----

TEST(ResolveStrategyTest, BuiltInDefaults) {
  const v1::RolloutStrategy strategy = ResolveStrategy(v1::AppSpec(), {});
  EXPECT_EQ(WaveHosts(strategy.canary(), 100), 0u);
  ASSERT_EQ(strategy.batch().size_case(), v1::WaveSize::kPercent);
  EXPECT_EQ(strategy.batch().percent(), 25u);
  EXPECT_TRUE(strategy.auto_rollback());
  EXPECT_FALSE(strategy.auto_promote());
}

TEST(ResolveStrategyTest, AppRolloutOverDefaults) {
  v1::AppSpec spec;
  v1::RolloutStrategy* app = spec.mutable_rollout();
  *app->mutable_canary() = Percent(10);
  *app->mutable_batch() = Count(3);
  app->set_auto_promote(true);
  app->set_auto_rollback(false);
  const v1::RolloutStrategy strategy = ResolveStrategy(spec, {});
  EXPECT_EQ(strategy.canary().percent(), 10u);
  EXPECT_EQ(strategy.batch().count(), 3u);
  EXPECT_TRUE(strategy.auto_promote());
  EXPECT_FALSE(strategy.auto_rollback());
}

TEST(ResolveStrategyTest, AppRolloutWithoutBatchKeepsTheDefaultBatch) {
  v1::AppSpec spec;
  *spec.mutable_rollout()->mutable_canary() = Count(1);
  spec.mutable_rollout()->set_auto_rollback(true);
  const v1::RolloutStrategy strategy = ResolveStrategy(spec, {});
  EXPECT_EQ(strategy.canary().count(), 1u);
  ASSERT_EQ(strategy.batch().size_case(), v1::WaveSize::kPercent);
  EXPECT_EQ(strategy.batch().percent(), 25u);
  EXPECT_TRUE(strategy.auto_rollback());
}

TEST(ResolveStrategyTest, OverridesOverTheApp) {
  v1::AppSpec spec;
  *spec.mutable_rollout()->mutable_canary() = Percent(10);
  *spec.mutable_rollout()->mutable_batch() = Percent(50);
  spec.mutable_rollout()->set_auto_rollback(true);
  StrategyOverrides overrides;
  overrides.canary = Count(2);
  overrides.batch = Percent(20);
  const v1::RolloutStrategy strategy = ResolveStrategy(spec, overrides);
  EXPECT_EQ(strategy.canary().count(), 2u);
  EXPECT_EQ(strategy.batch().percent(), 20u);
  EXPECT_TRUE(strategy.auto_rollback());
  EXPECT_FALSE(strategy.auto_promote());
}

TEST(ResolveStrategyTest, OverridesOverTheDefaults) {
  StrategyOverrides overrides;
  overrides.canary = Percent(5);
  const v1::RolloutStrategy strategy = ResolveStrategy(v1::AppSpec(), overrides);
  EXPECT_EQ(strategy.canary().percent(), 5u);
  EXPECT_EQ(strategy.batch().percent(), 25u);  // not overridden: default
  EXPECT_TRUE(strategy.auto_rollback());
}

TEST(ResolveStrategyTest, ZeroPercentCanaryOverrideTurnsTheAppsCanaryOff) {
  v1::AppSpec spec;
  *spec.mutable_rollout()->mutable_canary() = Percent(10);
  StrategyOverrides overrides;
  overrides.canary = Percent(0);
  const v1::RolloutStrategy strategy = ResolveStrategy(spec, overrides);
  EXPECT_EQ(WaveHosts(strategy.canary(), 100), 0u);
  EXPECT_THAT(CanaryFlags(PlanWaves(strategy, Hosts(4))), ElementsAre(false, false, false, false));
}

TEST(ResolveStrategyTest, AutoPromoteFlagOnlyTurnsOn) {
  v1::AppSpec promoting;
  promoting.mutable_rollout()->set_auto_promote(true);
  // Flag absent: the app's true stays true.
  EXPECT_TRUE(ResolveStrategy(promoting, {}).auto_promote());
  StrategyOverrides flag;
  flag.auto_promote = true;
  EXPECT_TRUE(ResolveStrategy(promoting, flag).auto_promote());
  // App false (or no app rollout): the flag turns it on.
  v1::AppSpec holding;
  holding.mutable_rollout()->set_auto_promote(false);
  EXPECT_FALSE(ResolveStrategy(holding, {}).auto_promote());
  EXPECT_TRUE(ResolveStrategy(holding, flag).auto_promote());
  EXPECT_TRUE(ResolveStrategy(v1::AppSpec(), flag).auto_promote());
}

TEST(ResolveStrategyTest, OverridesDoNotTouchAutoRollback) {
  v1::AppSpec spec;
  spec.mutable_rollout()->set_auto_rollback(false);
  StrategyOverrides overrides;
  overrides.batch = Percent(100);
  overrides.auto_promote = true;
  EXPECT_FALSE(ResolveStrategy(spec, overrides).auto_rollback());
}

}  // namespace
}  // namespace pyservice::controller::rollout
