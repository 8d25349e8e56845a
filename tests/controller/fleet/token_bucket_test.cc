#include "controller/fleet/token_bucket.h"

#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"

namespace pyservice::controller::fleet {
namespace {

int TakeAll(TokenBucket& bucket) {
  int taken = 0;
  while (bucket.TryTake()) ++taken;
  return taken;
}

TEST(TokenBucketTest, AFullBucketGivesTheBurstThenNothingUntilTimePasses) {
  testing::FakeClock clock;
  TokenBucket bucket({.per_second = 10, .burst = 20}, clock);
  EXPECT_EQ(TakeAll(bucket), 20);
  EXPECT_FALSE(bucket.TryTake());
}

TEST(TokenBucketTest, RefillsAtTheRateAndNeverBeyondTheBurst) {
  testing::FakeClock clock;
  TokenBucket bucket({.per_second = 10, .burst = 20}, clock);
  TakeAll(bucket);
  clock.Advance(absl::Milliseconds(500));
  EXPECT_EQ(TakeAll(bucket), 5);
  clock.Advance(absl::Hours(1));
  EXPECT_EQ(TakeAll(bucket), 20);
}

TEST(TokenBucketTest, AClockGoingBackwardsGivesNothing) {
  testing::FakeClock clock;
  TokenBucket bucket({.per_second = 10, .burst = 2}, clock);
  TakeAll(bucket);
  clock.Advance(-absl::Hours(1));
  EXPECT_FALSE(bucket.TryTake());
}

}  // namespace
}  // namespace pyservice::controller::fleet
