#include "controller/rollout/rollout_events.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::controller::rollout {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<v1::FleetEventKind> Kinds(const std::vector<v1::FleetEvent>& events) {
  std::vector<v1::FleetEventKind> kinds;
  for (const v1::FleetEvent& event : events) kinds.push_back(event.kind());
  return kinds;
}

class RolloutEventsTest : public ::testing::Test {
 protected:
  RolloutEventsTest() {
    stored_.app = "hello";
    stored_.id = 4;
    stored_.from_revision = 2;
    stored_.to_revision = 3;
    planned_.set_state(v1::ROLLOUT_STATE_RUNNING);
    planned_.add_waves()->set_canary(true);
    planned_.mutable_waves(0)->add_hosts("web-1");
    planned_.add_waves()->add_hosts("web-2");
    planned_.set_current_wave(0);
  }
  StoredRollout stored_;
  v1::RolloutRecord planned_;
};

TEST_F(RolloutEventsTest, PlanningIsStartedThenTheFirstWave) {
  v1::RolloutRecord pending;
  pending.set_state(v1::ROLLOUT_STATE_PENDING);
  pending.set_current_wave(-1);
  const std::vector<v1::FleetEvent> events = RolloutEvents(stored_, pending, planned_);
  EXPECT_THAT(Kinds(events), ElementsAre(v1::FLEET_EVENT_KIND_ROLLOUT_STARTED,
                                         v1::FLEET_EVENT_KIND_ROLLOUT_WAVE));
  EXPECT_EQ(events[0].app(), "hello");
  EXPECT_EQ(events[0].id(), 4u);
  EXPECT_EQ(events[0].revision(), 3u);
  EXPECT_EQ(events[1].wave(), 0u);
  EXPECT_THAT(events[1].message(), HasSubstr("canary"));
}

TEST_F(RolloutEventsTest, PromotionStartsTheNextWave) {
  v1::RolloutRecord awaiting = planned_;
  awaiting.set_state(v1::ROLLOUT_STATE_AWAITING_PROMOTION);
  v1::RolloutRecord promoted = planned_;
  promoted.set_current_wave(1);
  EXPECT_THAT(Kinds(RolloutEvents(stored_, awaiting, promoted)),
              ElementsAre(v1::FLEET_EVENT_KIND_ROLLOUT_PROMOTED,
                          v1::FLEET_EVENT_KIND_ROLLOUT_WAVE));
}

TEST_F(RolloutEventsTest, EveryEndHasItsEvent) {
  for (const auto& [state, kind] :
       std::vector<std::pair<v1::RolloutState, v1::FleetEventKind>>{
           {v1::ROLLOUT_STATE_SUCCEEDED, v1::FLEET_EVENT_KIND_ROLLOUT_SUCCEEDED},
           {v1::ROLLOUT_STATE_ROLLED_BACK, v1::FLEET_EVENT_KIND_ROLLOUT_ROLLED_BACK},
           {v1::ROLLOUT_STATE_FAILED, v1::FLEET_EVENT_KIND_ROLLOUT_ENDED},
           {v1::ROLLOUT_STATE_ABORTED, v1::FLEET_EVENT_KIND_ROLLOUT_ENDED}}) {
    v1::RolloutRecord ended = planned_;
    ended.set_state(state);
    ended.set_message("why");
    const std::vector<v1::FleetEvent> events = RolloutEvents(stored_, planned_, ended);
    EXPECT_THAT(Kinds(events), ElementsAre(kind)) << state;
  }
}

TEST_F(RolloutEventsTest, NoChangeAnOperatorFollowsIsNoEvent) {
  EXPECT_TRUE(RolloutEvents(stored_, planned_, planned_).empty());
}

}  // namespace
}  // namespace pyservice::controller::rollout
