// Backoff with a scripted random source and a FakeClock: every wait is
// exact.
#include "agent/daemon/backoff.h"

#include <deque>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"

namespace pyservice::agent {
namespace {

using ::testing::ElementsAre;

// Returns the scripted values in turn, then the last one forever.
std::function<double()> Script(std::vector<double> values) {
  auto queue = std::make_shared<std::deque<double>>(values.begin(), values.end());
  return [queue] {
    const double value = queue->front();
    if (queue->size() > 1) queue->pop_front();
    return value;
  };
}

std::vector<absl::Duration> Waits(Backoff& backoff, int n) {
  std::vector<absl::Duration> waits;
  for (int i = 0; i < n; ++i) waits.push_back(backoff.Next());
  return waits;
}

TEST(BackoffTest, CeilingDoublesFromHalfASecondUpToThirtySeconds) {
  testing::FakeClock clock;
  // Just under 1: the wait is (almost) the ceiling itself.
  Backoff backoff(BackoffPolicy(), Script({0.999999}), clock);
  EXPECT_THAT(
      Waits(backoff, 9),
      ElementsAre(absl::Milliseconds(499), absl::Milliseconds(999), absl::Milliseconds(1999),
                  absl::Milliseconds(3999), absl::Milliseconds(7999), absl::Milliseconds(15999),
                  absl::Milliseconds(29999), absl::Milliseconds(29999), absl::Milliseconds(29999)));
  EXPECT_EQ(backoff.attempts(), 9);
}

TEST(BackoffTest, FullJitterScalesTheCeilingByTheRandomDraw) {
  testing::FakeClock clock;
  Backoff backoff(BackoffPolicy(), Script({0.0, 0.5, 0.25, 0.1}), clock);
  EXPECT_THAT(Waits(backoff, 4), ElementsAre(absl::ZeroDuration(), absl::Milliseconds(500),
                                             absl::Milliseconds(500), absl::Milliseconds(400)));
}

TEST(BackoffTest, ManyAttemptsStayAtTheCap) {
  testing::FakeClock clock;
  Backoff backoff(BackoffPolicy(), Script({0.5}), clock);
  for (int i = 0; i < 10000; ++i) backoff.Next();
  EXPECT_EQ(backoff.Next(), absl::Seconds(15));
}

TEST(BackoffTest, AStreamThatLivedLongEnoughStartsOver) {
  testing::FakeClock clock;
  Backoff backoff(BackoffPolicy(), Script({0.5}), clock);
  Waits(backoff, 5);
  EXPECT_EQ(backoff.Ceiling(), absl::Seconds(16));
  backoff.Connected();
  clock.Advance(absl::Seconds(30));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(250)) << "back to the first step";
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(500));
}

TEST(BackoffTest, AStreamDroppedSoonAfterItsWelcomeKeepsBackingOff) {
  testing::FakeClock clock;
  Backoff backoff(BackoffPolicy(), Script({0.5}), clock);
  Waits(backoff, 3);
  backoff.Connected();
  clock.Advance(absl::Seconds(29));
  EXPECT_EQ(backoff.Next(), absl::Seconds(2)) << "the fourth step, not the first";
  // The short stream is forgotten: a later attempt without a Welcome does
  // not reset either.
  clock.Advance(absl::Minutes(5));
  EXPECT_EQ(backoff.Next(), absl::Seconds(4));
}

TEST(BackoffTest, PolicyIsHonoured) {
  testing::FakeClock clock;
  BackoffPolicy policy;
  policy.initial = absl::Milliseconds(100);
  policy.multiplier = 3;
  policy.max = absl::Seconds(1);
  Backoff backoff(policy, Script({0.999999}), clock);
  EXPECT_THAT(Waits(backoff, 4), ElementsAre(absl::Milliseconds(99), absl::Milliseconds(299),
                                             absl::Milliseconds(899), absl::Milliseconds(999)));
}

TEST(BackoffTest, SystemRandomIsInTheUnitInterval) {
  std::function<double()> random = SystemRandom();
  for (int i = 0; i < 1000; ++i) {
    const double value = random();
    EXPECT_GE(value, 0.0);
    EXPECT_LT(value, 1.0);
  }
}

}  // namespace
}  // namespace pyservice::agent
