#include "controller/fleet/event_log.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"

namespace pyservice::controller::fleet {
namespace {

v1::FleetEvent Event(const std::string& host) {
  v1::FleetEvent event;
  event.set_kind(v1::FLEET_EVENT_KIND_HOST_CONNECTED);
  event.set_host(host);
  return event;
}

TEST(EventLogTest, EventsGetSequenceAndTimeAndAreReadAfterASequence) {
  testing::FakeClock clock;
  EventLog log(clock);
  log.Record(Event("web-1"));
  log.Record(Event("web-2"));
  const std::vector<v1::FleetEvent> all = log.After(0);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].sequence(), 1u);
  EXPECT_EQ(all[0].time(), "2023-11-14T22:13:20Z");
  EXPECT_EQ(all[1].host(), "web-2");
  const std::vector<v1::FleetEvent> later = log.After(1);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].sequence(), 2u);
}

TEST(EventLogTest, OnlyTheLatestCapacityEventsAreKept) {
  testing::FakeClock clock;
  EventLog log(clock, /*capacity=*/3);
  for (int i = 0; i < 10; ++i) log.Record(Event("web"));
  const std::vector<v1::FleetEvent> kept = log.After(0);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept.front().sequence(), 8u);
  EXPECT_EQ(kept.back().sequence(), 10u);
}

TEST(EventLogTest, WaitReturnsAtOnceForAKeptEventAndFalseAfterShutdown) {
  testing::FakeClock clock;
  EventLog log(clock);
  log.Record(Event("web-1"));
  EXPECT_TRUE(log.Wait(0, absl::InfiniteDuration()));
  log.Shutdown();
  EXPECT_FALSE(log.Wait(1, absl::InfiniteDuration()));
}

}  // namespace
}  // namespace pyservice::controller::fleet
