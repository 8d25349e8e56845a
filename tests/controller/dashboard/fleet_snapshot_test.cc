#include "controller/dashboard/fleet_snapshot.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/json.h"

namespace pyservice::controller::dashboard {
namespace {

using ::pyservice::testing::JsonValue;
using ::pyservice::testing::ParseJson;
using ::testing::HasSubstr;
using ::testing::Not;

const JsonValue& At(const JsonValue& object, const std::string& key) {
  static const JsonValue kMissing;
  const auto& fields = object.struct_value().fields();
  const auto it = fields.find(key);
  return it == fields.end() ? kMissing : it->second;
}

v1::FleetSnapshot OneHostOneAppOneRollout() {
  v1::FleetSnapshot snapshot;
  v1::Host& host = *snapshot.add_hosts();
  host.set_name("h1");
  host.set_connected(true);
  host.set_last_seen("2026-01-02T03:04:05Z");
  host.set_agent_version("1.2.3");
  v1::AppStatus& app = *snapshot.add_apps();
  app.set_app("hello");
  app.set_revision(2);
  app.set_tag("v2");
  v1::HostAppStatus& line = *app.add_hosts();
  line.set_host("h1");
  line.set_revision(2);
  line.set_tag("v2");
  line.set_state(v1::HOST_DEPLOY_STATE_FAILED);
  line.set_message("<img src=x onerror=alert(1)> \"quoted\" \\ </script>");
  v1::Rollout& rollout = *snapshot.add_rollouts();
  rollout.set_app("hello");
  rollout.set_id(7);
  rollout.set_state(v1::ROLLOUT_STATE_RUNNING);
  rollout.mutable_strategy()->set_auto_promote(true);
  v1::RolloutWave& wave = *rollout.add_waves();
  wave.set_canary(true);
  v1::RolloutHost& wave_host = *wave.add_hosts();
  wave_host.set_host("h1");
  wave_host.set_state(v1::ROLLOUT_HOST_STATE_DEPLOYING);
  return snapshot;
}

TEST(FleetSnapshotJson, HostsAppsAndRolloutsUnderTheirProtoFieldNames) {
  absl::StatusOr<std::string> json = FleetSnapshotJson(OneHostOneAppOneRollout());
  ASSERT_TRUE(json.ok()) << json.status();
  absl::StatusOr<JsonValue> parsed = ParseJson(*json);
  ASSERT_TRUE(parsed.ok()) << parsed.status();

  const JsonValue& host = At(*parsed, "hosts").list_value().values(0);
  EXPECT_EQ(At(host, "name").string_value(), "h1");
  EXPECT_TRUE(At(host, "connected").bool_value());
  EXPECT_EQ(At(host, "last_seen").string_value(), "2026-01-02T03:04:05Z");
  EXPECT_EQ(At(host, "agent_version").string_value(), "1.2.3");

  const JsonValue& app = At(*parsed, "apps").list_value().values(0);
  EXPECT_EQ(At(app, "app").string_value(), "hello");
  const JsonValue& cell = At(app, "hosts").list_value().values(0);
  EXPECT_EQ(At(cell, "state").string_value(), "HOST_DEPLOY_STATE_FAILED");
  EXPECT_EQ(At(cell, "tag").string_value(), "v2");

  const JsonValue& rollout = At(*parsed, "rollouts").list_value().values(0);
  EXPECT_EQ(At(rollout, "state").string_value(), "ROLLOUT_STATE_RUNNING");
  const JsonValue& wave = At(rollout, "waves").list_value().values(0);
  EXPECT_TRUE(At(wave, "canary").bool_value());
  EXPECT_EQ(At(At(wave, "hosts").list_value().values(0), "state").string_value(),
            "ROLLOUT_HOST_STATE_DEPLOYING");
}

TEST(FleetSnapshotJson, DefaultsArePresentSoThePageNeedsNone) {
  absl::StatusOr<std::string> json = FleetSnapshotJson(v1::FleetSnapshot());
  ASSERT_TRUE(json.ok()) << json.status();
  absl::StatusOr<JsonValue> parsed = ParseJson(*json);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  for (const char* list : {"hosts", "apps", "rollouts"}) {
    EXPECT_EQ(At(*parsed, list).kind_case(), JsonValue::kListValue) << list;
  }

  v1::FleetSnapshot one_host;
  one_host.add_hosts()->set_name("h1");
  json = FleetSnapshotJson(one_host);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr("\"connected\":false"));
  EXPECT_THAT(*json, HasSubstr("\"agent_version\":\"\""));
}

TEST(FleetSnapshotJson, HostReportedMarkupIsAnEscapedStringThatRoundTripsExactly) {
  const v1::FleetSnapshot snapshot = OneHostOneAppOneRollout();
  absl::StatusOr<std::string> json = FleetSnapshotJson(snapshot);
  ASSERT_TRUE(json.ok()) << json.status();
  absl::StatusOr<JsonValue> parsed = ParseJson(*json);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const JsonValue& cell =
      At(At(*parsed, "apps").list_value().values(0), "hosts").list_value().values(0);
  EXPECT_EQ(At(cell, "message").string_value(), snapshot.apps(0).hosts(0).message());
  // One line: an SSE "data:" line each, and no raw markup in the text.
  EXPECT_THAT(*json, Not(HasSubstr("\n")));
  EXPECT_THAT(*json, Not(HasSubstr("<img")));
  EXPECT_THAT(*json, Not(HasSubstr("</script>")));
}

TEST(StripForDashboard, DropsEachRolloutsStrategy) {
  v1::FleetSnapshot snapshot = OneHostOneAppOneRollout();
  StripForDashboard(snapshot);
  EXPECT_FALSE(snapshot.rollouts(0).has_strategy());
  absl::StatusOr<std::string> json = FleetSnapshotJson(snapshot);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, Not(HasSubstr("strategy")));
  EXPECT_THAT(*json, Not(HasSubstr("auto_promote")));
}

}  // namespace
}  // namespace pyservice::controller::dashboard
