#include "cli/commands/fleet_format.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace pyservice::cli {
namespace {

v1::HostAppStatus Parse(const std::string& text) {
  v1::HostAppStatus status;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &status)) << text;
  return status;
}

TEST(FleetFormatTest, HostRowEndsWithTheDriftedPathsAndWhetherRepaired) {
  const v1::HostAppStatus status = Parse(R"pb(
    host: "h1" connected: true revision: 2 tag: "v1" health: HEALTH_STATE_HEALTHY
    drift { path: "/etc/systemd/system/hello-web.service" reason: "changed" }
    drift { path: "/applications/hello/app/config/config.yaml" reason: "missing" repaired: true }
  )pb");
  EXPECT_EQ(HostStatusHeader().back(), "DRIFT");
  EXPECT_EQ(HostStatusRow(status).back(),
            "/etc/systemd/system/hello-web.service (changed), "
            "/applications/hello/app/config/config.yaml (missing, repaired)");
  EXPECT_EQ(HostStatusRow(Parse(R"pb(host: "h2")pb")).back(), "-");
}

TEST(FleetFormatTest, UnitsTextSaysHowATimersLastRunFailed) {
  const v1::HostAppStatus status = Parse(R"pb(
    host: "h1"
    units { unit: "hello-report.service" active_state: "failed" sub_state: "failed"
            result: "exit-code" exec_main_status: 1 }
    units { unit: "hello-report.timer" active_state: "active" sub_state: "waiting"
            result: "" }
  )pb");
  EXPECT_EQ(UnitsText(status),
            "hello-report.service failed/failed (last run exit-code, status 1), "
            "hello-report.timer active/waiting");
}

}  // namespace
}  // namespace pyservice::cli
