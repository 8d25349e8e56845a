// FormatRfc3339 (common/time/rfc3339.h) formats by arithmetic for speed;
// it must read exactly as absl::FormatTime does, the format it replaced.
#include "common/time/rfc3339.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace pyservice {
namespace {

std::string Reference(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

TEST(Rfc3339Test, KnownTimes) {
  EXPECT_EQ(FormatRfc3339(absl::UnixEpoch()), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(absl::FromUnixSeconds(1'738'324'800)), "2025-01-31T12:00:00Z");
  // Leap day, end of a leap year.
  EXPECT_EQ(FormatRfc3339(absl::FromUnixSeconds(951'782'400)), "2000-02-29T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(absl::FromUnixSeconds(1'735'689'599)), "2024-12-31T23:59:59Z");
}

TEST(Rfc3339Test, TruncatesToTheSecondLikeAbsl) {
  const absl::Time late = absl::FromUnixSeconds(1'738'324'800) + absl::Milliseconds(999);
  EXPECT_EQ(FormatRfc3339(late), "2025-01-31T12:00:00Z");
  // Before the epoch, a fraction rounds down, to the earlier second.
  const absl::Time before = absl::UnixEpoch() - absl::Milliseconds(1);
  EXPECT_EQ(FormatRfc3339(before), Reference(before));
  EXPECT_EQ(FormatRfc3339(before), "1969-12-31T23:59:59Z");
}

TEST(Rfc3339Test, SameAsAbslFormatTimeOverCenturies) {
  // Every ~11.6 days plus an odd number of seconds from 1900 to 2200.
  const int64_t start = -2'208'988'800;  // 1900-01-01
  for (int64_t s = start; s < 7'258'118'400; s += 1'000'003) {
    const absl::Time time = absl::FromUnixSeconds(s) + absl::Microseconds(s % 1'000'000);
    ASSERT_EQ(FormatRfc3339(time), Reference(time)) << s;
  }
}

TEST(Rfc3339Test, InfiniteAndFarTimesReadAsAbslWrites) {
  EXPECT_EQ(FormatRfc3339(absl::InfiniteFuture()), Reference(absl::InfiniteFuture()));
  EXPECT_EQ(FormatRfc3339(absl::InfinitePast()), Reference(absl::InfinitePast()));
  const absl::Time far = absl::FromUnixSeconds(400'000'000'000);  // year ~14,645
  EXPECT_EQ(FormatRfc3339(far), Reference(far));
}

}  // namespace
}  // namespace pyservice
