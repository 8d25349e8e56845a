// DbusSystemdManager against a real systemd. The outer machine's PID 1 is
// not systemd, so each test boots a test host with the build directory
// mounted read-only at /opt/pyservice and runs systemd_probe (a scripted
// driver of the adapter, tests/e2e/systemd_probe_main.cc) inside it.
#include "agent/systemd/dbus_systemd_manager.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/testing/test_host.h"

namespace pyservice::testing {
namespace {

// One output line of systemd_probe.
struct ProbeStep {
  std::string step;
  std::string code;    // "OK", "FAILED_PRECONDITION", ...
  std::string detail;  // the message when not OK

  // For state steps: "active" -> "running" etc.
  std::string Field(const std::string& key) const {
    for (absl::string_view pair : absl::StrSplit(detail, ' ')) {
      std::vector<std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
      if (kv.size() == 2 && kv[0] == key) return kv[1];
    }
    return "";
  }
  int64_t IntField(const std::string& key) const {
    int64_t value = -1;
    return absl::SimpleAtoi(Field(key), &value) ? value : -1;
  }
};

std::ostream& operator<<(std::ostream& out, const ProbeStep& step) {
  return out << step.step << " -> " << step.code << " " << step.detail;
}

std::string ProbePathInHost() {
  const std::string relative =
      std::filesystem::path(SYSTEMD_PROBE_BIN).lexically_relative(PYSERVICE_BINARY_DIR).string();
  return absl::StrCat("/opt/pyservice/", relative);
}

class DbusSystemdManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto host = TestHost::Boot(
        {.binds = {{.source = PYSERVICE_BINARY_DIR, .target = "/opt/pyservice"}}});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
  }

  // Runs the probe inside the host; one entry per output line.
  std::vector<ProbeStep> Probe(const std::vector<std::string>& steps) {
    std::vector<std::string> argv = {ProbePathInHost()};
    argv.insert(argv.end(), steps.begin(), steps.end());
    auto result = host_->Run(argv);
    if (!result.ok() || !result->Succeeded()) {
      ADD_FAILURE() << "systemd_probe " << absl::StrJoin(steps, " ") << ": "
                    << (result.ok() ? absl::StrCat(result->Describe(), "\n", result->stdout_text,
                                                   result->stderr_text)
                                    : result.status().ToString());
      return {};
    }
    std::vector<ProbeStep> parsed;
    for (absl::string_view line : absl::StrSplit(result->stdout_text, '\n', absl::SkipEmpty())) {
      std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits('\t', 2));
      fields.resize(3);
      parsed.push_back({fields[0], fields[1], fields[2]});
    }
    if (parsed.size() < steps.size()) {
      ADD_FAILURE() << "systemd_probe printed " << parsed.size() << " lines for "
                    << steps.size() << " steps:\n" << result->stdout_text;
      parsed.resize(steps.size());
    }
    return parsed;
  }

  // The unit's journal as the adapter reads it, once it contains `needle`.
  std::string WaitForJournal(const std::string& unit, const std::string& needle) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    std::string journal;
    while (absl::Now() < deadline) {
      std::vector<ProbeStep> steps = Probe({absl::StrCat("journal:", unit, ":50")});
      if (steps.empty()) return "";
      EXPECT_EQ(steps[0].code, "OK") << steps[0];
      journal = steps[0].detail;
      if (absl::StrContains(journal, needle)) return journal;
      absl::SleepFor(absl::Milliseconds(200));
    }
    ADD_FAILURE() << "journal of " << unit << " never showed \"" << needle << "\": " << journal;
    return journal;
  }

  void WriteUnit(const std::string& name, const std::string& content) {
    ASSERT_TRUE(host_->WriteFile(absl::StrCat("/etc/systemd/system/", name), content).ok());
  }

  std::unique_ptr<TestHost> host_;
};

TEST_F(DbusSystemdManagerTest, ReloadPicksUpWrittenAndChangedUnitFiles) {
  ASSERT_NO_FATAL_FAILURE(WriteUnit("probe-echo.service", R"([Service]
ExecStart=/bin/sh -c 'echo version-1; exec sleep infinity'
)"));
  std::vector<ProbeStep> steps = Probe({"reload", "start:probe-echo.service"});
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].code, "OK") << steps[0];
  EXPECT_EQ(steps[1].code, "OK") << steps[1];
  WaitForJournal("probe-echo.service", "version-1");

  ASSERT_NO_FATAL_FAILURE(WriteUnit("probe-echo.service", R"([Service]
ExecStart=/bin/sh -c 'echo version-2; exec sleep infinity'
)"));
  steps = Probe({"reload", "restart:probe-echo.service"});
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].code, "OK") << steps[0];
  EXPECT_EQ(steps[1].code, "OK") << steps[1];
  WaitForJournal("probe-echo.service", "version-2");
  auto stale = host_->RunOk(
      {"systemctl", "show", "--property=NeedDaemonReload", "--value", "probe-echo.service"});
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_EQ(*stale, "no\n");
}

TEST_F(DbusSystemdManagerTest, StartRestartStopAServiceThatRuns) {
  ASSERT_TRUE(host_->WriteFile("/srv/www/index.txt", "served").ok());
  ASSERT_NO_FATAL_FAILURE(WriteUnit("probe-web.service", R"([Service]
ExecStart=/usr/bin/python3 -m http.server 8000 --bind 127.0.0.1 --directory /srv/www
)"));
  std::vector<ProbeStep> steps = Probe({"reload", "start:probe-web.service",
                                        "state:probe-web.service"});
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[1].code, "OK") << steps[1];
  EXPECT_EQ(steps[2].code, "OK") << steps[2];
  EXPECT_EQ(steps[2].Field("load"), "loaded") << steps[2];
  EXPECT_EQ(steps[2].Field("active"), "active") << steps[2];
  EXPECT_EQ(steps[2].Field("sub"), "running") << steps[2];
  const int64_t started_usec = steps[2].IntField("entered_usec");
  EXPECT_GT(started_usec, 0) << steps[2];
  auto body = host_->RunUntilSuccess(
      {"/usr/bin/python3", "-c",
       "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/index.txt', "
       "timeout=2).read().decode())"},
      absl::Seconds(15));
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(body->stdout_text, "served\n");

  steps = Probe({"restart:probe-web.service", "state:probe-web.service",
                 "stop:probe-web.service", "state:probe-web.service"});
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[0].code, "OK") << steps[0];
  EXPECT_EQ(steps[1].Field("active"), "active") << steps[1];
  EXPECT_GT(steps[1].IntField("entered_usec"), started_usec) << steps[1];
  EXPECT_EQ(steps[2].code, "OK") << steps[2];
  EXPECT_EQ(steps[3].Field("active"), "inactive") << steps[3];
  EXPECT_EQ(steps[3].Field("sub"), "dead") << steps[3];
}

TEST_F(DbusSystemdManagerTest, StartOfAUnitThatFailsIsFailedPreconditionNamingTheUnit) {
  ASSERT_NO_FATAL_FAILURE(WriteUnit("probe-false.service", R"([Service]
Type=oneshot
ExecStart=/bin/false
)"));
  ASSERT_NO_FATAL_FAILURE(WriteUnit("probe-missing.service", R"([Service]
Type=exec
ExecStart=/opt/no/such/binary
)"));
  std::vector<ProbeStep> steps = Probe({"reload", "start:probe-false.service",
                                        "start:probe-missing.service",
                                        "state:probe-false.service"});
  ASSERT_EQ(steps.size(), 4u);
  for (int i : {1, 2}) {
    EXPECT_EQ(steps[i].code, "FAILED_PRECONDITION") << steps[i];
    EXPECT_TRUE(absl::StrContains(steps[i].detail, steps[i].step.substr(6))) << steps[i];
    EXPECT_TRUE(absl::StrContains(steps[i].detail, "StartUnit")) << steps[i];
  }
  EXPECT_EQ(steps[3].Field("active"), "failed") << steps[3];
}

TEST_F(DbusSystemdManagerTest, JobNotFinishedInTimeIsDeadlineExceeded) {
  ASSERT_NO_FATAL_FAILURE(WriteUnit("probe-slow.service", R"([Service]
Type=oneshot
ExecStart=/bin/sleep 3
)"));
  std::vector<ProbeStep> steps = Probe({"reload", "start:probe-slow.service:200"});
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[1].code, "DEADLINE_EXCEEDED") << steps[1];
  EXPECT_TRUE(absl::StrContains(steps[1].detail, "probe-slow.service")) << steps[1];
}

TEST_F(DbusSystemdManagerTest, ConcurrentStartsEachGetTheirOwnJobResult) {
  std::vector<std::string> units;
  for (int i = 0; i < 6; ++i) {
    units.push_back(absl::StrCat("probe-par-", i, ".service"));
    // Odd ones fail, so a result handed to the wrong caller shows.
    ASSERT_NO_FATAL_FAILURE(WriteUnit(units.back(), absl::StrCat(R"([Service]
Type=oneshot
ExecStart=/bin/sh -c 'sleep 0.)", i, "; exit ", i % 2, "'\n")));
  }
  std::vector<ProbeStep> steps = Probe({"reload", absl::StrCat("startall:", absl::StrJoin(units, ","))});
  ASSERT_EQ(steps.size(), 1 + units.size());
  for (size_t i = 0; i < units.size(); ++i) {
    const ProbeStep& step = steps[1 + i];
    ASSERT_EQ(step.step, "start:" + units[i]);
    EXPECT_EQ(step.code, i % 2 == 0 ? "OK" : "FAILED_PRECONDITION") << step;
  }
}

TEST_F(DbusSystemdManagerTest, EnableAndDisableATimer) {
  ASSERT_NO_FATAL_FAILURE(WriteUnit("probe-tick.service", R"([Service]
Type=oneshot
ExecStart=/bin/true
)"));
  ASSERT_NO_FATAL_FAILURE(WriteUnit("probe-tick.timer", R"([Timer]
OnCalendar=daily
Persistent=true
Unit=probe-tick.service

[Install]
WantedBy=timers.target
)"));
  const std::vector<std::string> is_link = {
      "test", "-L", "/etc/systemd/system/timers.target.wants/probe-tick.timer"};

  std::vector<ProbeStep> steps = Probe({"reload", "enable:probe-tick.timer",
                                        "state:probe-tick.timer"});
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[1].code, "OK") << steps[1];
  EXPECT_EQ(steps[2].Field("load"), "loaded") << steps[2];
  // Enabling is for the next boot; it starts nothing now.
  EXPECT_EQ(steps[2].Field("active"), "inactive") << steps[2];
  auto linked = host_->Run(is_link);
  ASSERT_TRUE(linked.ok()) << linked.status();
  EXPECT_EQ(linked->exit_code, 0) << "enable made no timers.target.wants symlink";

  steps = Probe({"disable:probe-tick.timer", "enable:probe-none.timer",
                 "disable:probe-none.timer"});
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].code, "OK") << steps[0];
  for (int i : {1, 2}) {
    EXPECT_EQ(steps[i].code, "NOT_FOUND") << steps[i];
    EXPECT_TRUE(absl::StrContains(steps[i].detail, "probe-none.timer")) << steps[i];
  }
  linked = host_->Run(is_link);
  ASSERT_TRUE(linked.ok()) << linked.status();
  EXPECT_NE(linked->exit_code, 0) << "disable left the timers.target.wants symlink";
}

TEST_F(DbusSystemdManagerTest, UnknownUnitIsNotFoundStateNotAnError) {
  std::vector<ProbeStep> steps = Probe({"state:probe-unknown.service",
                                        "stop:probe-unknown.service", "state:not a unit"});
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].code, "OK") << steps[0];
  EXPECT_EQ(steps[0].Field("load"), "not-found") << steps[0];
  EXPECT_EQ(steps[0].Field("active"), "inactive") << steps[0];
  EXPECT_EQ(steps[0].IntField("entered_usec"), 0) << steps[0];
  // Stopping what systemd does not know is an error the caller can see.
  EXPECT_EQ(steps[1].code, "NOT_FOUND") << steps[1];
  EXPECT_EQ(steps[2].code, "INVALID_ARGUMENT") << steps[2];
}

TEST_F(DbusSystemdManagerTest, JournalTailReturnsWhatTheServicePrinted) {
  ASSERT_NO_FATAL_FAILURE(WriteUnit("probe-talk.service", R"([Service]
ExecStart=/bin/sh -c 'echo first line; echo second line; exec sleep infinity'
)"));
  std::vector<ProbeStep> steps = Probe({"reload", "start:probe-talk.service"});
  ASSERT_EQ(steps.size(), 2u);
  ASSERT_EQ(steps[1].code, "OK") << steps[1];
  const std::string journal = WaitForJournal("probe-talk.service", "second line");
  // Oldest first.
  EXPECT_LT(journal.find("first line"), journal.find("second line")) << journal;

  steps = Probe({"journal:probe-talk.service:1", "journal:probe-silent.service:10"});
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].code, "OK") << steps[0];
  EXPECT_FALSE(absl::StrContains(steps[0].detail, " \\n ")) << "more than one line: " << steps[0];
  EXPECT_EQ(steps[1].code, "OK") << steps[1];
  EXPECT_EQ(steps[1].detail, "") << steps[1];
}

TEST_F(DbusSystemdManagerTest, CrashLoopingServiceCountsRestarts) {
  ASSERT_NO_FATAL_FAILURE(WriteUnit("probe-crash.service", R"([Service]
ExecStart=/bin/sh -c 'echo crashing; exit 1'
Restart=always
RestartSec=100ms
)"));
  std::vector<ProbeStep> steps = Probe({"reload", "start:probe-crash.service", "sleep:1500",
                                        "state:probe-crash.service"});
  ASSERT_EQ(steps.size(), 4u);
  // Type=simple: the start job is done once the process is forked.
  EXPECT_EQ(steps[1].code, "OK") << steps[1];
  EXPECT_GT(steps[3].IntField("restarts"), 0) << steps[3];
}

// No host: the outer machine has no systemd, and with the bus address
// pointing nowhere Connect must say UNAVAILABLE rather than throw.
TEST(DbusSystemdManagerConnectTest, NoSystemBusIsUnavailable) {
  ProcessOptions probe;
  probe.argv = {SYSTEMD_PROBE_BIN, "reload"};
  probe.env = {"DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/bus"};
  auto result = RunProcess(probe);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 1) << result->stdout_text << result->stderr_text;
  EXPECT_TRUE(absl::StartsWith(result->stdout_text, "connect\tUNAVAILABLE\t"))
      << result->stdout_text;
}

}  // namespace
}  // namespace pyservice::testing
