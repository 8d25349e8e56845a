// `pyctl logs` and `pyctl events` end to end: the real controller, two real
// systemd test hosts running the real agent (the harness: fleet_e2e.h), the
// hello app deployed from its git repository. The app prints
// "hello v1 serving on port 8000" to stdout when it starts; journald keeps
// it, the agent reads it with journalctl, and pyctl shows it.
//
// Hosts boot once per test binary run; CTest runs each test in a process
// of its own, so each test first makes sure the app is deployed.
#include <signal.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/e2e/fleet/fleet_e2e.h"

namespace pyservice::testing {
namespace {

constexpr int kHosts = 2;
constexpr char kServing[] = "hello v1 serving on port 8000";

std::string HostName(int i) { return absl::StrCat("log-", i + 1); }

// Lines of `text` from `host` (pyctl logs: "HOST UNIT TIME MESSAGE")
// whose message contains `needle`.
int CountLines(const std::string& text, const std::string& host, const std::string& needle) {
  int count = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, host + " ") && absl::StrContains(line, needle)) ++count;
  }
  return count;
}

class LogsE2eTest : public FleetE2eFixture {
 protected:
  static void SetUpTestSuite() {
    FleetOptions options;
    options.app_yaml = HelloAppYaml();
    for (int i = 0; i < kHosts; ++i) options.host_names.push_back(HostName(i));
    BootFleet(std::move(options), {"v1"});
  }

  static bool AllHealthy() {
    const std::map<std::string, JsonValue> status = fleet().StatusByHost("hello");
    for (int i = 0; i < kHosts; ++i) {
      const auto it = status.find(HostName(i));
      if (it == status.end() || Field(it->second, "health") != "healthy") return false;
    }
    return true;
  }

  static void EnsureDeployed() {
    ASSERT_TRUE(Eventually(AllConnected, absl::Seconds(30)))
        << "agents did not connect\n" << Diagnostics();
    const ProcessResult applied = Pyctl({"apply", fleet().app_yaml_path()}, 300);
    ASSERT_TRUE(applied.Succeeded()) << Describe(applied) << Diagnostics();
    ASSERT_TRUE(Eventually(AllHealthy, absl::Seconds(60))) << Diagnostics();
  }
};

// Every host's line, merged into one listing; and nothing but the app's
// unit: the agent reads the units it wrote for the app, no other.
TEST_F(LogsE2eTest, LogsShowWhatTheAppPrintedOnEveryHostAndOnlyItsUnit) {
  EnsureDeployed();
  ProcessResult logs;
  ASSERT_TRUE(Eventually(
      [&] {
        logs = Pyctl({"logs", "hello", "-n", "50"});
        return logs.Succeeded() && CountLines(logs.stdout_text, HostName(0), kServing) > 0 &&
               CountLines(logs.stdout_text, HostName(1), kServing) > 0;
      },
      absl::Seconds(30)))
      << Describe(logs) << Diagnostics();
  for (absl::string_view line : absl::StrSplit(logs.stdout_text, '\n', absl::SkipEmpty())) {
    const std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits(' ', 3));
    ASSERT_EQ(fields.size(), 4u) << line;
    EXPECT_TRUE(fields[0] == HostName(0) || fields[0] == HostName(1)) << line;
    EXPECT_EQ(fields[1], kAppUnit) << line;
  }
  // -o json: the same entries as documents.
  const ProcessResult json = Pyctl({"logs", "hello", "--host", HostName(1), "-o", "json"});
  ASSERT_TRUE(json.Succeeded()) << Describe(json);
  absl::StatusOr<JsonValue> parsed = ParseJson(json.stdout_text);
  ASSERT_TRUE(parsed.ok() && parsed->kind_case() == JsonValue::kListValue) << json.stdout_text;
  bool found = false;
  for (const JsonValue& entry : parsed->list_value().values()) {
    EXPECT_EQ(Field(entry, "host"), HostName(1)) << json.stdout_text;
    if (absl::StrContains(Field(entry, "message"), kServing)) found = true;
  }
  EXPECT_TRUE(found) << json.stdout_text;
}

// -f keeps the tail open: a line the app prints after pyctl started (the
// service restarted, so it says it serves again) shows up.
TEST_F(LogsE2eTest, LogsFollowShowsALinePrintedAfterItStarted) {
  EnsureDeployed();
  absl::StatusOr<std::unique_ptr<ChildProcess>> follow =
      StartPyctl({"logs", "hello", "--host", HostName(0), "-n", "20", "-f"}, "logs-follow");
  ASSERT_TRUE(follow.ok()) << follow.status();
  int before = 0;
  ASSERT_TRUE(Eventually(
      [&] {
        before = CountLines((*follow)->ReadStdout(), HostName(0), kServing);
        return before > 0;
      },
      absl::Seconds(30)))
      << (*follow)->ReadStdout() << (*follow)->ReadStderr() << Diagnostics();
  absl::StatusOr<std::string> restarted = Host(0).RunOk({"systemctl", "restart", kAppUnit});
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  EXPECT_TRUE(Eventually(
      [&] { return CountLines((*follow)->ReadStdout(), HostName(0), kServing) > before; },
      absl::Seconds(30)))
      << (*follow)->ReadStdout() << (*follow)->ReadStderr() << Diagnostics();
  // Only the host asked for.
  EXPECT_EQ(CountLines((*follow)->ReadStdout(), HostName(1), ""), 0) << (*follow)->ReadStdout();
  ASSERT_TRUE((*follow)->Signal(SIGTERM).ok());
  EXPECT_TRUE((*follow)->WaitForExit(absl::Seconds(10)).ok());
}

TEST_F(LogsE2eTest, EventsShowTheHostsAndTheDeployOfThisTest) {
  EnsureDeployed();
  const ProcessResult events = Pyctl({"events", "-o", "json"});
  ASSERT_TRUE(events.Succeeded()) << Describe(events);
  absl::StatusOr<JsonValue> parsed = ParseJson(events.stdout_text);
  ASSERT_TRUE(parsed.ok() && parsed->kind_case() == JsonValue::kListValue) << events.stdout_text;
  bool applied = false;
  std::map<std::string, std::set<std::string>> kinds_by_host;
  for (const JsonValue& event : parsed->list_value().values()) {
    if (Field(event, "kind") == "app_applied" && Field(event, "app") == "hello") applied = true;
    if (Field(event, "app") == "hello" || Field(event, "app").empty()) {
      kinds_by_host[Field(event, "host")].insert(Field(event, "kind"));
    }
  }
  EXPECT_TRUE(applied) << events.stdout_text;
  for (int i = 0; i < kHosts; ++i) {
    const std::set<std::string>& kinds = kinds_by_host[HostName(i)];
    EXPECT_TRUE(kinds.contains("host_connected")) << HostName(i) << "\n" << events.stdout_text;
    EXPECT_TRUE(kinds.contains("deploy_started")) << HostName(i) << "\n" << events.stdout_text;
    EXPECT_TRUE(kinds.contains("deploy_succeeded")) << HostName(i) << "\n" << events.stdout_text;
  }
  // The table: one line per event.
  const ProcessResult table = Pyctl({"events", "--app", "hello"});
  ASSERT_TRUE(table.Succeeded()) << Describe(table);
  EXPECT_TRUE(absl::StrContains(table.stdout_text,
                                absl::StrCat("deploy_succeeded hello@", HostName(0))))
      << table.stdout_text;
}

}  // namespace
}  // namespace pyservice::testing
