// Which hosts a change of an app's desired state gives new work
// (controller/fleet/desired_change.h): the reconciler plans only those, so
// a host missing here would never get its wave's deploy.
#include "controller/fleet/desired_change.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::controller::fleet {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

DesiredRevision Revision(uint32_t number, const std::string& digest) {
  DesiredRevision revision;
  revision.revision = number;
  revision.digest = digest;
  revision.spec = std::make_shared<const v1::AppSpec>();
  return revision;
}

// Revision 2 rolling out over revision 1 with hosts `on_to` on 2 and
// `prepare` preparing it.
DesiredApp RollingOut(std::vector<std::string> on_to, std::vector<std::string> prepare) {
  DesiredApp app;
  static_cast<DesiredRevision&>(app) = Revision(2, "d2");
  app.name = "web";
  app.from = Revision(1, "d1");
  auto placement = std::make_shared<rollout::Placement>();
  placement->rollout_id = 7;
  placement->on_to.insert(on_to.begin(), on_to.end());
  placement->prepare.insert(prepare.begin(), prepare.end());
  app.placement = std::move(placement);
  return app;
}

DesiredApp Settled(uint32_t number, const std::string& digest) {
  DesiredApp app;
  static_cast<DesiredRevision&>(app) = Revision(number, digest);
  app.name = "web";
  return app;
}

std::set<std::string> AsSet(const std::optional<std::vector<std::string>>& hosts) {
  return hosts.has_value() ? std::set<std::string>(hosts->begin(), hosts->end())
                           : std::set<std::string>();
}

TEST(DesiredChangeTest, WaveStart_ListsTheWaveAndTheHostsWhosePreparationChanged) {
  const DesiredApp before = RollingOut({"a"}, {"b", "c"});
  const DesiredApp after = RollingOut({"a", "b"}, {"c", "d"});
  const std::optional<std::vector<std::string>> changed = HostsWithChangedWork(&before, &after);
  ASSERT_TRUE(changed.has_value());
  // b moved from preparing to the new revision, d starts preparing; a and c
  // are where they were.
  EXPECT_THAT(AsSet(changed), ElementsAre("b", "d"));
}

TEST(DesiredChangeTest, RollbackOfStartedWaves_ListsTheirHosts) {
  const DesiredApp before = RollingOut({"a", "b"}, {"c"});
  const DesiredApp after = RollingOut({}, {});
  EXPECT_THAT(AsSet(HostsWithChangedWork(&before, &after)), ElementsAre("a", "b", "c"));
}

TEST(DesiredChangeTest, SamePlacement_ListsNoHost) {
  const DesiredApp before = RollingOut({"a"}, {"b"});
  const DesiredApp after = RollingOut({"a"}, {"b"});
  EXPECT_THAT(HostsWithChangedWork(&before, &after), Optional(IsEmpty()));
  const DesiredApp settled = Settled(2, "d2");
  EXPECT_THAT(HostsWithChangedWork(&settled, &settled), Optional(IsEmpty()));
}

TEST(DesiredChangeTest, NewRevision_IsEveryHost) {
  const DesiredApp before = Settled(1, "d1");
  const DesiredApp after = Settled(2, "d2");
  EXPECT_EQ(HostsWithChangedWork(&before, &after), std::nullopt);
  // The same number with another digest (a re-applied spec) too.
  const DesiredApp redigested = Settled(1, "d1-other");
  EXPECT_EQ(HostsWithChangedWork(&before, &redigested), std::nullopt);
}

TEST(DesiredChangeTest, AppAppearingOrGoing_IsEveryHost) {
  const DesiredApp app = Settled(1, "d1");
  EXPECT_EQ(HostsWithChangedWork(nullptr, &app), std::nullopt);
  EXPECT_EQ(HostsWithChangedWork(&app, nullptr), std::nullopt);
}

TEST(DesiredChangeTest, RolloutStartingOrEnding_IsEveryHost) {
  // Hosts in no wave (joined after the plan) switch revision too.
  const DesiredApp rolling = RollingOut({"a"}, {});
  DesiredApp done = Settled(2, "d2");
  EXPECT_EQ(HostsWithChangedWork(&rolling, &done), std::nullopt);
  EXPECT_EQ(HostsWithChangedWork(&done, &rolling), std::nullopt);
}

TEST(DesiredChangeTest, OtherHostsSwitchingRevision_IsEveryHost) {
  const DesiredApp before = RollingOut({"a"}, {});
  DesiredApp after = RollingOut({"a"}, {});
  auto everyone = std::make_shared<rollout::Placement>(*after.placement);
  everyone->others_on_to = true;
  after.placement = std::move(everyone);
  EXPECT_EQ(HostsWithChangedWork(&before, &after), std::nullopt);
}

TEST(DesiredChangeTest, PreviousRevisionChanged_IsEveryHost) {
  const DesiredApp before = RollingOut({"a"}, {});
  DesiredApp after = RollingOut({"a"}, {});
  after.from = Revision(3, "d3");
  EXPECT_EQ(HostsWithChangedWork(&before, &after), std::nullopt);
}

}  // namespace
}  // namespace pyservice::controller::fleet
