// Drift detection and timer health gates end to end, in fleet mode: the real
// controller, one real systemd test host running the real agent (its drift
// checks every 2 s: agent config drift_check_interval), the real pyctl (the
// harness: fleet_e2e.h). Hand edits are made inside the host as an
// operator would make them, as root with ordinary tools.
//
// Each test applies the app.yaml it needs first (CTest runs every test in a
// process of its own, on a fleet of its own).
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/e2e/fleet/fleet_e2e.h"

namespace pyservice::testing {
namespace {

constexpr char kHost[] = "drift-1";
constexpr char kUnitFile[] = "/etc/systemd/system/hello-web.service";
constexpr char kConfig[] = "/applications/hello/app/config/config.yaml";

struct DriftEntry {
  std::string path;
  std::string reason;
  bool repaired = false;
};

class DriftE2eTest : public FleetE2eFixture {
 protected:
  static void SetUpTestSuite() {
    FleetOptions options;
    options.app_yaml = HelloAppYaml();
    options.host_names = {kHost};
    options.agent_config_extra = "drift_check_interval: 2s\n";
    BootFleet(std::move(options), {"v1"});
  }

  // Applies the hello app with `extra` appended to its app.yaml and waits
  // until the host reports it healthy.
  static void ApplyHello(const std::string& extra) {
    ASSERT_TRUE(Eventually(AllConnected, absl::Seconds(30)))
        << "agent did not connect\n" << Diagnostics();
    {
      std::ofstream file(fleet().app_yaml_path(), std::ios::trunc);
      file << HelloAppYaml() << extra;
    }
    const ProcessResult applied = Pyctl({"apply", fleet().app_yaml_path()}, 300);
    ASSERT_TRUE(applied.Succeeded()) << Describe(applied) << Diagnostics();
    std::string raw;
    ASSERT_TRUE(Eventually([&] { return Health(&raw) == "healthy"; }, absl::Seconds(60)))
        << raw << Diagnostics();
  }

  static std::string Health(std::string* raw = nullptr) {
    auto status = fleet().StatusByHost("hello", raw);
    auto it = status.find(kHost);
    return it == status.end() ? "" : Field(it->second, "health");
  }
  static std::string Message(std::string* raw = nullptr) {
    auto status = fleet().StatusByHost("hello", raw);
    auto it = status.find(kHost);
    return it == status.end() ? "" : Field(it->second, "message");
  }

  // The host's drift as `pyctl status hello -o json` shows it.
  static std::vector<DriftEntry> Drift(std::string* raw = nullptr) {
    std::vector<DriftEntry> entries;
    auto status = fleet().StatusByHost("hello", raw);
    auto it = status.find(kHost);
    if (it == status.end()) return entries;
    const JsonValue* drift = Member(it->second, "drift");
    if (drift == nullptr || drift->kind_case() != JsonValue::kListValue) return entries;
    for (const JsonValue& entry : drift->list_value().values()) {
      entries.push_back({Field(entry, "path"), Field(entry, "reason"),
                         Field(entry, "repaired") == "true"});
    }
    return entries;
  }

  static bool Lists(const std::vector<DriftEntry>& drift, const std::string& path,
                    bool repaired) {
    for (const DriftEntry& entry : drift) {
      if (entry.path == path && entry.reason == "changed" && entry.repaired == repaired) {
        return true;
      }
    }
    return false;
  }

  static std::string ReadInHost(const std::string& path) {
    absl::StatusOr<std::string> content = Host(0).ReadFile(path);
    return content.ok() ? *content : absl::StrCat("<", content.status().ToString(), ">");
  }

  // Edits `path` by hand: appends a line, keeping owner and mode.
  static void EditByHand(const std::string& path, const std::string& line) {
    ASSERT_TRUE(Host(0).RunOk({"sh", "-c", absl::StrCat("echo '", line, "' >> ", path)}).ok());
  }
};

TEST_F(DriftE2eTest, ReportPolicy_HandEditedUnitAndConfigShowInStatusAndStayAsEdited) {
  ASSERT_NO_FATAL_FAILURE(ApplyHello("drift: report\n"));
  ASSERT_TRUE(Drift().empty());
  EditByHand(kUnitFile, "# edited by hand");
  EditByHand(kConfig, "# edited by hand");

  std::string raw;
  ASSERT_TRUE(Eventually(
      [&] {
        const std::vector<DriftEntry> drift = Drift(&raw);
        return Lists(drift, kUnitFile, false) && Lists(drift, kConfig, false);
      },
      absl::Seconds(30)))
      << "the drift did not show in pyctl status\n" << raw << Diagnostics();

  // The table shows it too, in its DRIFT column, and describe.
  const ProcessResult table = Pyctl({"status", "hello"});
  ASSERT_TRUE(table.Succeeded()) << Describe(table);
  EXPECT_TRUE(absl::StrContains(table.stdout_text, "DRIFT")) << table.stdout_text;
  EXPECT_TRUE(absl::StrContains(table.stdout_text, absl::StrCat(kUnitFile, " (changed)")))
      << table.stdout_text;
  const ProcessResult described = Pyctl({"describe", "app", "hello"});
  ASSERT_TRUE(described.Succeeded()) << Describe(described);
  EXPECT_TRUE(absl::StrContains(described.stdout_text, kConfig)) << described.stdout_text;

  // Reported, not repaired: the edits are still there a few checks later.
  absl::SleepFor(absl::Seconds(5));
  EXPECT_TRUE(absl::StrContains(ReadInHost(kUnitFile), "# edited by hand"));
  EXPECT_TRUE(absl::StrContains(ReadInHost(kConfig), "# edited by hand"));
  EXPECT_EQ(Health(), "healthy") << "drift alone does not fail the app's health";
}

TEST_F(DriftE2eTest, RepairPolicy_EditsAreUndoneAndTheUnitReloadedAndRestarted) {
  ASSERT_NO_FATAL_FAILURE(ApplyHello("drift: repair\n"));
  const std::string unit_before = ReadInHost(kUnitFile);
  const std::string config_before = ReadInHost(kConfig);
  ASSERT_FALSE(absl::StrContains(unit_before, "edited")) << "the deploy repairs too";
  const std::string pid_before = fleet().ShowUnit(0, "MainPID");

  EditByHand(kUnitFile, "# edited by hand");
  EditByHand(kConfig, "# edited by hand");

  std::string raw;
  ASSERT_TRUE(Eventually(
      [&] {
        const std::vector<DriftEntry> drift = Drift(&raw);
        return Lists(drift, kUnitFile, true) && Lists(drift, kConfig, true);
      },
      absl::Seconds(60)))
      << "no repair reported\n" << raw << Diagnostics();
  EXPECT_EQ(ReadInHost(kUnitFile), unit_before);
  EXPECT_EQ(ReadInHost(kConfig), config_before);
  // systemd has the repaired file loaded, and the service runs anew on it.
  EXPECT_EQ(fleet().ShowUnit(0, "NeedDaemonReload"), "no");
  EXPECT_TRUE(Eventually([&] { return Health(&raw) == "healthy"; }, absl::Seconds(30)))
      << raw << Diagnostics();
  EXPECT_NE(fleet().ShowUnit(0, "MainPID"), pid_before) << "hello-web.service was not restarted";
  absl::StatusOr<std::string> body = HttpGet(0);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, "hello v1\n");
  // The journal names what was put back, never what was in it.
  const std::string journal = fleet().Journal(0, kAgentUnit, 400);
  EXPECT_TRUE(absl::StrContains(journal, "drift repaired: ")) << journal;
  EXPECT_TRUE(absl::StrContains(journal, absl::StrCat(kUnitFile, " (changed)"))) << journal;
  EXPECT_FALSE(absl::StrContains(journal, "edited by hand")) << "file content in the journal";
}

TEST_F(DriftE2eTest, TimerWhoseServiceExits1MakesTheAppUnhealthyNamingUnitAndResult) {
  ASSERT_NO_FATAL_FAILURE(ApplyHello(
      "timers:\n"
      "  - name: fail\n"
      "    schedule: \"Mon 02:00\"\n"
      "    command: \"python -c 'raise SystemExit(1)'\"\n"));
  // Not run yet: healthy (pending), which is what let the apply pass.
  std::string raw;
  ASSERT_EQ(Health(&raw), "healthy") << raw;

  // The timer fires (started by hand: its schedule is a week away).
  ASSERT_TRUE(Host(0).Run({"systemctl", "start", "hello-fail.service"}).ok());
  ASSERT_TRUE(Eventually(
      [&] {
        return Health(&raw) == "failed" &&
               absl::StrContains(Message(&raw),
                                 "hello-fail.service last run failed: result exit-code, "
                                 "exit status 1");
      },
      absl::Seconds(30)))
      << raw << Diagnostics();
  EXPECT_EQ(fleet().ShowUnit(0, "Result", "hello-fail.service"), "exit-code");

  // The app without the timer is healthy again (and the next test starts
  // from it).
  ASSERT_NO_FATAL_FAILURE(ApplyHello(""));
}

}  // namespace
}  // namespace pyservice::testing
