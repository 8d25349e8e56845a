// DbusSystemdManager::WatchUnits against a real systemd: PropertiesChanged
// signals of each watched unit, as systemd emits them. Like
// dbus_systemd_manager_test.cc, it boots a test host with the build
// directory at /opt/pyservice and runs systemd_probe inside; the probe's
// watch prints every change as it arrives.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/testing/test_host.h"

namespace pyservice::testing {
namespace {

using ::testing::Contains;
using ::testing::IsEmpty;
using ::testing::Not;

struct ProbeOutput {
  // "STEP CODE" of every step line, in order.
  std::vector<std::string> steps;
  // "UNIT ACTIVE/SUB" of every change line, in order.
  std::vector<std::string> changes;
  // Changes printed after the step line starting with `step`.
  std::vector<std::string> ChangesAfter(const std::string& step) const {
    std::vector<std::string> after;
    bool seen = false;
    for (const std::string& line : lines) {
      if (absl::StartsWith(line, step + "\t")) seen = true;
      if (seen && absl::StartsWith(line, "change\t")) after.push_back(line);
    }
    return after;
  }
  std::vector<std::string> lines;
  std::string raw;
};

std::string ProbePathInHost() {
  const std::string relative =
      std::filesystem::path(SYSTEMD_PROBE_BIN).lexically_relative(PYSERVICE_BINARY_DIR).string();
  return absl::StrCat("/opt/pyservice/", relative);
}

// "unit=U load=L active=A sub=S" -> "U A/S".
std::string Change(absl::string_view detail) {
  std::string unit, active, sub;
  for (absl::string_view pair : absl::StrSplit(detail, ' ')) {
    std::vector<std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    if (kv.size() != 2) continue;
    if (kv[0] == "unit") unit = kv[1];
    if (kv[0] == "active") active = kv[1];
    if (kv[0] == "sub") sub = kv[1];
  }
  return absl::StrCat(unit, " ", active, "/", sub);
}

class UnitWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto host =
        TestHost::Boot({.binds = {{.source = PYSERVICE_BINARY_DIR, .target = "/opt/pyservice"}}});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
  }

  ProbeOutput Probe(const std::vector<std::string>& steps) {
    std::vector<std::string> argv = {ProbePathInHost()};
    argv.insert(argv.end(), steps.begin(), steps.end());
    ProbeOutput output;
    auto result = host_->Run(argv);
    if (!result.ok() || !result->Succeeded()) {
      ADD_FAILURE() << "systemd_probe: "
                    << (result.ok() ? absl::StrCat(result->Describe(), "\n", result->stdout_text,
                                                   result->stderr_text)
                                    : result.status().ToString());
      return output;
    }
    output.raw = result->stdout_text;
    for (absl::string_view line : absl::StrSplit(result->stdout_text, '\n', absl::SkipEmpty())) {
      output.lines.emplace_back(line);
      std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits('\t', 2));
      fields.resize(3);
      if (fields[0] == "change") {
        output.changes.push_back(Change(fields[2]));
      } else {
        output.steps.push_back(absl::StrCat(fields[0], " ", fields[1]));
      }
    }
    return output;
  }

  std::unique_ptr<TestHost> host_;
};

TEST_F(UnitWatchTest, StartsStopsAndCrashesArriveAsTheyHappen) {
  ASSERT_TRUE(host_
                  ->WriteFile("/etc/systemd/system/probe-watch.service",
                              "[Service]\nExecStart=/bin/sleep infinity\n")
                  .ok());
  ProbeOutput out = Probe({
      "reload",
      // A dash and a dot in the name: the object path is escaped.
      "watch:probe-watch.service,probe-never.service",
      "start:probe-watch.service",
      "waitchange:probe-watch.service:active:10000",
      "stop:probe-watch.service",
      "waitchange:probe-watch.service:inactive:10000",
      "start:probe-watch.service",
      // A crash nobody asked for: only the signal tells.
      "sh:systemctl kill --signal=KILL probe-watch.service",
      "waitchange:probe-watch.service:failed:10000",
      "unwatch",
      "sh:systemctl reset-failed probe-watch.service",
      "start:probe-watch.service",
      "sleep:1000",
  });
  for (const std::string& step : out.steps) {
    EXPECT_TRUE(absl::EndsWith(step, " OK")) << step << "\n" << out.raw;
  }
  EXPECT_THAT(out.changes, Contains("probe-watch.service active/running")) << out.raw;
  EXPECT_THAT(out.changes, Contains("probe-watch.service inactive/dead")) << out.raw;
  EXPECT_THAT(out.changes, Contains("probe-watch.service failed/failed")) << out.raw;
  for (const std::string& change : out.changes) {
    EXPECT_TRUE(absl::StartsWith(change, "probe-watch.service "))
        << "only watched units: " << change;
  }
  EXPECT_THAT(out.ChangesAfter("unwatch"), IsEmpty()) << "nothing after the watch ended\n"
                                                      << out.raw;
}

TEST_F(UnitWatchTest, AUnitWatchedBeforeItExistsIsReportedOnceLoaded) {
  ProbeOutput out = Probe({
      "watch:probe-late.service",
      "sh:printf '[Service]\\nExecStart=/bin/sleep infinity\\n' > "
      "/etc/systemd/system/probe-late.service",
      "reload",
      "start:probe-late.service",
      "waitchange:probe-late.service:active:10000",
  });
  for (const std::string& step : out.steps) {
    EXPECT_TRUE(absl::EndsWith(step, " OK")) << step << "\n" << out.raw;
  }
  EXPECT_THAT(out.changes, Contains("probe-late.service active/running")) << out.raw;
  EXPECT_THAT(out.changes, Not(Contains("probe-late.service failed/failed")));
}

}  // namespace
}  // namespace pyservice::testing
