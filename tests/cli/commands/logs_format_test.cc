#include "cli/commands/logs_format.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::cli {
namespace {

using ::testing::HasSubstr;

v1::LogEntry Entry(const std::string& host, const std::string& time, const std::string& message) {
  v1::LogEntry entry;
  entry.set_host(host);
  entry.set_unit("hello-web.service");
  entry.set_time(time);
  entry.set_message(message);
  return entry;
}

TEST(LogsFormatTest, ALineIsHostUnitTimeMessage) {
  EXPECT_EQ(LogLine(Entry("web-1", "2025-01-31T12:00:00.000001Z", "hello")),
            "web-1 hello-web.service 2025-01-31T12:00:00.000001Z hello\n");
}

// App output must not drive the operator's terminal (escape sequences,
// carriage returns that hide a line).
TEST(LogsFormatTest, ControlCharactersInAppOutputAreReplaced) {
  const std::string line = LogLine(Entry("web-1", "t", "red\x1b[31m\rforged\n"));
  EXPECT_EQ(line, "web-1 hello-web.service t red?[31m?forged?\n");
}

TEST(LogsFormatTest, HostsAreMergedByTimeKeepingEachHostsOrder) {
  std::vector<v1::LogEntry> entries = {
      Entry("web-1", "2025-01-31T12:00:00.000003Z", "a3"),
      Entry("web-2", "2025-01-31T12:00:00.000001Z", "b1"),
      Entry("web-1", "2025-01-31T12:00:00.000003Z", "a3-again"),
      Entry("web-2", "2025-01-31T12:00:00.000002Z", "b2")};
  SortByTime(entries);
  std::vector<std::string> order;
  for (const v1::LogEntry& entry : entries) order.push_back(entry.message());
  EXPECT_THAT(order, ::testing::ElementsAre("b1", "b2", "a3", "a3-again"));
}

TEST(LogsFormatTest, SinceTakesATimeOrADurationAgoAndNamesTheFlagOtherwise) {
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  EXPECT_EQ(*SinceTime("10m", now), "2023-11-14T22:03:20+00:00");
  EXPECT_EQ(*SinceTime("2025-01-31T12:00:00Z", now), "2025-01-31T12:00:00+00:00");
  const absl::StatusOr<std::string> bad = SinceTime("yesterday", now);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("--since: \"yesterday\""));
}

TEST(LogsFormatTest, ADeployFailureNamesAppHostStepAndWhy) {
  v1::FleetEvent event;
  event.set_time("2025-01-31T12:00:00Z");
  event.set_kind(v1::FLEET_EVENT_KIND_DEPLOY_FAILED);
  event.set_app("hello");
  event.set_host("web-1");
  event.set_id(9);
  event.set_step("environment");
  event.set_message("revision 3: pip failed");
  EXPECT_EQ(EventLine(event),
            "2025-01-31T12:00:00Z deploy_failed hello@web-1 deploy 9 step environment: "
            "revision 3: pip failed\n");
  const Document document = EventDocument(event);
  EXPECT_EQ(document.Find("kind")->string_value(), "deploy_failed");
  EXPECT_EQ(document.Find("step")->string_value(), "environment");
}

}  // namespace
}  // namespace pyservice::cli
