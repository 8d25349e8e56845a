#include "common/time/rfc3339.h"

#include <chrono>
#include <cstdint>

namespace pyservice {
namespace {

constexpr char kFormat[] = "%Y-%m-%dT%H:%M:%SZ";

// Writes `value` as `width` digits ending just before `end`.
void PutDigits(int64_t value, int width, char* end) {
  for (int i = 0; i < width; ++i) {
    *--end = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

}  // namespace

std::string FormatRfc3339(absl::Time time) {
  // absl::FormatTime parses the format and goes through the time zone code
  // on every call (~0.4 µs): 8 ms of the two timestamps per host that
  // `pyctl get hosts` lists for 10,000 hosts. UTC to the second is plain
  // calendar arithmetic.
  if (time == absl::InfiniteFuture() || time == absl::InfinitePast()) {
    return absl::FormatTime(kFormat, time, absl::UTCTimeZone());
  }
  const int64_t seconds = absl::ToUnixSeconds(time);  // rounds down
  const std::chrono::sys_seconds since_epoch{std::chrono::seconds(seconds)};
  const auto day = std::chrono::floor<std::chrono::days>(since_epoch);
  const std::chrono::year_month_day date(day);
  const int year = static_cast<int>(date.year());
  if (year < 0 || year > 9999) return absl::FormatTime(kFormat, time, absl::UTCTimeZone());
  const int64_t of_day = (since_epoch - day).count();
  std::string text = "0000-00-00T00:00:00Z";
  char* out = text.data();
  PutDigits(year, 4, out + 4);
  PutDigits(static_cast<unsigned>(date.month()), 2, out + 7);
  PutDigits(static_cast<unsigned>(date.day()), 2, out + 10);
  PutDigits(of_day / 3600, 2, out + 13);
  PutDigits(of_day / 60 % 60, 2, out + 16);
  PutDigits(of_day % 60, 2, out + 19);
  return text;
}

}  // namespace pyservice
