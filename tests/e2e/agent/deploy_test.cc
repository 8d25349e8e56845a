// pyservice-agent on a real systemd host: a fresh deploy of the hello app
// from a real git repo, a no-op re-apply, a tag switch under load, a broken
// tag and a rollback. One host for the suite; every test first applies what
// it needs (apply is idempotent), so each can run alone.
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/e2e/agent/agent_e2e.h"
#include "tests/e2e/agent/hello_app.h"
#include "tests/e2e/testing/test_host.h"

namespace pyservice::testing {
namespace {

constexpr int kPort = 8000;
constexpr char kAppRoot[] = "/applications/hello";
constexpr char kAppDir[] = "/applications/hello/app";
constexpr char kConfigDir[] = "/applications/hello/app/config";
constexpr char kSecret[] = "deploy-suite-file-content";

class AgentDeployTest : public AgentHostSuite</*kWithBigRepo=*/false> {
 protected:
  void SetUp() override {
    AgentHostSuite::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_FALSE(repos_->commits.empty()) << "building the hello repo failed";
    ASSERT_TRUE(WriteApp(*host_, App()).ok());
  }

  static AppOptions App() {
    return {.name = "hello", .repo = "file:///srv/git/hello.git", .port = kPort,
            .secret = kSecret};
  }

  static std::string ReleaseDir(const std::string& tag) {
    return absl::StrCat(kAppDir, "/releases/", ReleaseId(tag));
  }

  // `apply /srv/hello.yaml --tag TAG`, which must succeed; returns stdout.
  static std::string Apply(const std::string& tag) {
    auto result = RunAgent(*host_, {"apply", AppYamlPath("hello"), "--tag", tag});
    EXPECT_TRUE(result.ok() && result->Succeeded()) << "apply --tag " << tag << ": "
                                                    << Describe(result);
    return result.ok() ? result->stdout_text : "";
  }

  static std::string Run(const std::vector<std::string>& argv) {
    auto out = host_->RunOk(argv);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? std::string(absl::StripTrailingAsciiWhitespace(*out)) : "";
  }

  static std::string Stat(const std::string& path) {
    auto stat = StatPath(*host_, path);
    return stat.ok() ? *stat : stat.status().ToString();
  }

  static std::string Body(const std::string& path = "/") {
    auto body = HttpGet(*host_, kPort, path);
    return body.ok() ? *body : body.status().ToString();
  }

  static std::map<std::string, std::string> Show(const std::string& unit,
                                                 const std::vector<std::string>& props) {
    auto shown = ShowUnit(*host_, unit, props);
    EXPECT_TRUE(shown.ok()) << shown.status();
    return shown.ok() ? *shown : std::map<std::string, std::string>{};
  }

  static std::string Status() {
    auto result = RunAgent(*host_, {"status", "hello"});
    EXPECT_TRUE(result.ok() && result->Succeeded()) << Describe(result);
    return result.ok() ? result->stdout_text : "";
  }

};


TEST_F(AgentDeployTest, FreshDeploy_CreatesUserTreeFilesAndUnits_ServesAsAppUser) {
  Apply("v1");

  // The user, as the role creates it, with its own group.
  const std::vector<std::string> user = absl::StrSplit(Run({"getent", "passwd", "hello"}), ':');
  ASSERT_EQ(user.size(), 7u);
  const std::vector<std::string> group = absl::StrSplit(Run({"getent", "group", "hello"}), ':');
  ASSERT_GE(group.size(), 3u);
  EXPECT_EQ(user[3], group[2]) << "primary group of hello is not the group hello";
  EXPECT_EQ(user[4], "User for hello service");
  EXPECT_EQ(user[5], kAppRoot);
  EXPECT_EQ(user[6], "/usr/sbin/nologin");

  // Every directory's owner and mode.
  const std::map<std::string, std::string> dirs = {
      {"/applications", "root:root 755 directory"},
      {kAppRoot, "hello:hello 775 directory"},
      {kAppDir, "hello:hello 775 directory"},
      {kConfigDir, "hello:hello 750 directory"},
      {"/applications/hello/data", "hello:hello 750 directory"},
      {"/applications/hello/app/releases", "hello:hello 755 directory"},
      {"/applications/hello/app/uv", "hello:hello 755 directory"},
      {ReleaseDir("v1"), "hello:hello 755 directory"},
  };
  for (const auto& [path, expected] : dirs) EXPECT_EQ(Stat(path), expected) << path;

  // The code symlink points at the release, whose whole tree (code and
  // environment) belongs to the app user and is writable by nobody else.
  EXPECT_EQ(Run({"readlink", "/applications/hello/app/code"}), ReleaseDir("v1"));
  EXPECT_EQ(Run({"find", ReleaseDir("v1"), "(", "!", "-user", "hello", "-o", "!", "-group",
                 "hello", ")", "-print"}),
            "");
  EXPECT_EQ(Run({"find", ReleaseDir("v1"), "!", "-type", "l", "-perm", "/o+w", "-print"}), "");
  EXPECT_EQ(Stat(ReleaseDir("v1") + "/.venv/bin/python"), "hello:hello 777 symbolic link");
  EXPECT_EQ(Stat(ReleaseDir("v1") + "/.pyservice-environment"), "hello:hello 644 regular file");
  EXPECT_EQ(Stat(ReleaseDir("v1") + "/hello/__main__.py"), "hello:hello 644 regular file");

  // files: and config.yaml, with their modes and contents.
  EXPECT_EQ(Stat(absl::StrCat(kConfigDir, "/config.yaml")), "hello:hello 600 regular file");
  EXPECT_EQ(host_->ReadFile(absl::StrCat(kConfigDir, "/config.yaml")).value_or("?"),
            absl::StrCat("port: ", kPort, "\n"));
  EXPECT_EQ(Stat(absl::StrCat(kConfigDir, "/secret.txt")), "hello:hello 640 regular file");
  EXPECT_EQ(host_->ReadFile(absl::StrCat(kConfigDir, "/secret.txt")).value_or("?"),
            absl::StrCat(kSecret, "\n"));

  // Every rendered unit: root's, 0644, and clean for systemd-analyze verify.
  const std::vector<std::string> units = {"hello-web.service", "hello-report.service",
                                          "hello-report.timer"};
  std::vector<std::string> verify = {"systemd-analyze", "verify"};
  for (const std::string& unit : units) {
    const std::string path = absl::StrCat("/etc/systemd/system/", unit);
    EXPECT_EQ(Stat(path), "root:root 644 regular file") << path;
    verify.push_back(path);
  }
  auto verified = host_->Run(verify);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->Succeeded()) << Describe(*verified);
  EXPECT_EQ(verified->stdout_text + verified->stderr_text, "") << Describe(*verified);

  // The service: enabled, running as the app user, answering.
  auto web = Show("hello-web.service",
                  {"ActiveState", "SubState", "UnitFileState", "MainPID", "User"});
  EXPECT_EQ(web["ActiveState"], "active");
  EXPECT_EQ(web["SubState"], "running");
  EXPECT_EQ(web["UnitFileState"], "enabled");
  EXPECT_EQ(web["User"], "hello");
  ASSERT_NE(web["MainPID"], "0");
  EXPECT_EQ(Run({"ps", "-o", "user=", "-p", web["MainPID"]}), "hello");
  EXPECT_EQ(Run({"ps", "-o", "group=", "-p", web["MainPID"]}), "hello");
  EXPECT_EQ(Run({"ps", "-o", "args=", "-p", web["MainPID"]}),
            "python -m hello --config /applications/hello/app/config/config.yaml web");
  EXPECT_EQ(Body("/"), "hello v1");
  EXPECT_EQ(Body("/healthz"), "hello v1");

  // The timer: enabled and scheduled; its job runs the app's command.
  auto timer = Show("hello-report.timer",
                    {"ActiveState", "SubState", "UnitFileState", "NextElapseUSecRealtime", "Unit"});
  EXPECT_EQ(timer["ActiveState"], "active");
  EXPECT_EQ(timer["SubState"], "waiting");
  EXPECT_EQ(timer["UnitFileState"], "enabled");
  EXPECT_EQ(timer["Unit"], "hello-report.service");
  EXPECT_FALSE(timer["NextElapseUSecRealtime"].empty());
  EXPECT_TRUE(absl::StrContains(
      Run({"systemctl", "list-timers", "--all", "--no-legend", "--no-pager"}),
      "hello-report.timer"));
  EXPECT_TRUE(absl::StrContains(Run({"systemd-analyze", "calendar", "Mon, 02:00"}),
                                "Next elapse:"));
  Run({"systemctl", "start", "hello-report.service"});
  EXPECT_EQ(Show("hello-report.service", {"Result"})["Result"], "success");
  EXPECT_TRUE(absl::StrContains(
      Run({"journalctl", "--no-pager", "-o", "cat", "-u", "hello-report.service"}),
      "hello v1 report"));

  // What the agent reports.
  const std::string status = Status();
  EXPECT_TRUE(absl::StrContains(status, absl::StrCat("release ", ReleaseId("v1"))))
      << status;
  EXPECT_TRUE(absl::StrContains(status, "env venv")) << status;
}

TEST_F(AgentDeployTest, NoOpReapply_RestartsNothingAndRewritesNothing) {
  Apply("v1");
  const auto snapshot = [] {
    std::string all;
    for (const auto& [unit, props] :
         std::map<std::string, std::vector<std::string>>{
             {"hello-web.service",
              {"MainPID", "ActiveEnterTimestamp", "NRestarts", "InvocationID"}},
             {"hello-report.timer", {"ActiveEnterTimestamp", "InvocationID"}}}) {
      for (const auto& [key, value] : Show(unit, props)) {
        absl::StrAppend(&all, unit, " ", key, "=", value, "\n");
      }
    }
    // Inode and modification time of everything the agent writes.
    absl::StrAppend(
        &all, Run({"stat", "-c", "%n %i %.9Y", "/etc/systemd/system/hello-web.service",
                   "/etc/systemd/system/hello-report.service",
                   "/etc/systemd/system/hello-report.timer",
                   absl::StrCat(kConfigDir, "/config.yaml"),
                   absl::StrCat(kConfigDir, "/secret.txt"), "/applications/hello/app/code",
                   absl::StrCat(ReleaseDir("v1"), "/.pyservice-environment")}));
    return all;
  };
  const std::string before = snapshot();
  ASSERT_TRUE(absl::StrContains(before, "hello-web.service MainPID=")) << before;

  const std::string output = Apply("v1");
  const std::string after = snapshot();
  EXPECT_EQ(before, after);
  // Every step says so, too.
  int steps = 0;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (words.size() >= 2 && absl::StartsWith(line, "  ")) {
      ++steps;
      EXPECT_EQ(words[1], "unchanged") << line;
    }
  }
  EXPECT_EQ(steps, 10) << output;
  EXPECT_EQ(Body(), "hello v1");
}

TEST_F(AgentDeployTest, TagSwitch_ServesNewTag_FailuresOnlyDuringTheRestart) {
  Apply("v1");
  ASSERT_EQ(Body(), "hello v1");
  const std::string pid_before = Show("hello-web.service", {"MainPID"})["MainPID"];

  auto loop = RequestLoop::Start(*host_, kPort);
  ASSERT_TRUE(loop.ok()) << loop.status();
  Apply("v2");
  absl::SleepFor(absl::Milliseconds(500));
  auto answers = (*loop)->Stop();
  ASSERT_TRUE(answers.ok()) << answers.status();

  // v1 until the restart, then v2; failed requests only in between.
  std::string summary;
  int last_v1 = -1, first_v2 = -1, failures = 0;
  for (int i = 0; i < static_cast<int>(answers->size()); ++i) {
    const std::string& result = (*answers)[i].result;
    if (result == "hello v1") last_v1 = i;
    if (result == "hello v2" && first_v2 < 0) first_v2 = i;
    if (absl::StartsWith(result, "FAILED")) ++failures;
    if (i == 0 || result != (*answers)[i - 1].result) {
      absl::StrAppendFormat(&summary, "  from %.3f: %s\n", (*answers)[i].time, result);
    }
  }
  SCOPED_TRACE(absl::StrCat(answers->size(), " requests, ", failures, " failed:\n", summary));
  ASSERT_GE(last_v1, 0) << "no request answered v1";
  ASSERT_GE(first_v2, 0) << "no request answered v2";
  EXPECT_LT(last_v1, first_v2) << "v1 answered after v2 had";
  for (int i = 0; i < last_v1; ++i) EXPECT_EQ((*answers)[i].result, "hello v1") << "request " << i;
  for (int i = first_v2; i < static_cast<int>(answers->size()); ++i) {
    EXPECT_EQ((*answers)[i].result, "hello v2") << "request " << i;
  }
  for (int i = last_v1 + 1; i < first_v2; ++i) {
    EXPECT_TRUE(absl::StartsWith((*answers)[i].result, "FAILED")) << "request " << i;
  }
  // The restart itself: stop v1, start v2's interpreter.
  EXPECT_LT((*answers)[first_v2].time - (*answers)[last_v1].time, 3.0);
  // v1 served until the restart (last_v1 >= 0 above). How many answers
  // precede it is not asserted: with v1's environment reused, the fetch and
  // copy before the restart take a fraction of a second.
  std::cout << "[   INFO   ] " << answers->size() << " requests during the switch; " << failures
            << " failed, all within the restart: "
            << absl::StrFormat("%.3f s", (*answers)[first_v2].time - (*answers)[last_v1].time)
            << " from the last v1 answer to the first v2 answer\n";

  EXPECT_EQ(Body(), "hello v2");
  EXPECT_EQ(Run({"readlink", "/applications/hello/app/code"}), ReleaseDir("v2"));
  EXPECT_NE(Show("hello-web.service", {"MainPID"})["MainPID"], pid_before);
}

TEST_F(AgentDeployTest, BrokenTag_FailsItsGate_PreviousReleaseKeepsServing) {
  Apply("v2");
  ASSERT_EQ(Body(), "hello v2");

  auto broken = RunAgent(*host_, {"apply", AppYamlPath("hello"), "--tag", "v3-broken"});
  ASSERT_TRUE(broken.ok()) << broken.status();
  EXPECT_FALSE(broken->Succeeded()) << Describe(*broken);
  // The gate named the unit, showed why, and rolled back.
  EXPECT_TRUE(absl::StrContains(broken->stderr_text, "verify: hello-web.service"))
      << Describe(*broken);
  EXPECT_TRUE(absl::StrContains(broken->stderr_text, "broken on purpose")) << Describe(*broken);
  EXPECT_TRUE(absl::StrContains(broken->stderr_text,
                                absl::StrCat("rolled back to ", ReleaseId("v2"))))
      << Describe(*broken);

  EXPECT_EQ(Body(), "hello v2");
  EXPECT_EQ(Run({"readlink", "/applications/hello/app/code"}), ReleaseDir("v2"));
  auto web = Show("hello-web.service", {"ActiveState", "SubState", "MainPID"});
  EXPECT_EQ(web["ActiveState"], "active");
  EXPECT_EQ(web["SubState"], "running");
  // And it stays up: the previous release is not crash-looping.
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(Show("hello-web.service", {"MainPID"})["MainPID"], web["MainPID"]);
  EXPECT_EQ(Body(), "hello v2");
  const std::string status = Status();
  EXPECT_TRUE(absl::StrContains(status, absl::StrCat("release ", ReleaseId("v2")))) << status;
  EXPECT_TRUE(absl::StrContains(status, "last: failed: verify")) << status;
}

TEST_F(AgentDeployTest, Rollback_ServesThePreviousRelease) {
  Apply("v1");
  Apply("v2");
  ASSERT_EQ(Body(), "hello v2");

  auto rollback = RunAgent(*host_, {"rollback", "hello"});
  ASSERT_TRUE(rollback.ok()) << rollback.status();
  ASSERT_TRUE(rollback->Succeeded()) << Describe(*rollback);
  EXPECT_TRUE(absl::StrContains(rollback->stdout_text,
                                absl::StrCat("rolled back to ", ReleaseId("v1"))))
      << Describe(*rollback);

  EXPECT_EQ(Body(), "hello v1");
  EXPECT_EQ(Run({"readlink", "/applications/hello/app/code"}), ReleaseDir("v1"));
  const std::string status = Status();
  EXPECT_TRUE(absl::StrContains(status, absl::StrCat("release ", ReleaseId("v1")))) << status;
  EXPECT_TRUE(absl::StrContains(status, "hello-web.service")) << status;
  EXPECT_TRUE(absl::StrContains(status, "active/running")) << status;
}

// What a controller's rollback or undo sends: the spec of a kept release
// again. The release is re-activated as it is on disk: no fetch, no build.
TEST_F(AgentDeployTest, ReapplyOfAKeptRelease_ReactivatesItWithoutFetchOrBuild) {
  Apply("v1");
  Apply("v2");
  ASSERT_EQ(Body(), "hello v2");

  const absl::Time start = absl::Now();
  const std::string output = Apply("v1");
  const absl::Duration took = absl::Now() - start;

  EXPECT_TRUE(absl::StrContains(output, absl::StrCat("re-activating kept release ",
                                                     ReleaseId("v1"))))
      << output;
  std::vector<std::string> steps;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (words.size() >= 2 && absl::StartsWith(line, "  ")) steps.emplace_back(words[0]);
  }
  EXPECT_EQ(absl::StrJoin(steps, ","), "user,directories,ssh-key,files,config,switch,units,verify")
      << output;
  EXPECT_EQ(Body(), "hello v1");
  EXPECT_EQ(Run({"readlink", "/applications/hello/app/code"}), ReleaseDir("v1"));
  const std::string status = Status();
  EXPECT_TRUE(absl::StrContains(status, absl::StrCat("release ", ReleaseId("v1")))) << status;
  std::cout << "[   INFO   ] re-applying the kept v1 took " << absl::FormatDuration(took) << "\n";
}

// systemd refuses to start a unit that started 5 times within 10 s (a crash
// loop, or quick deploys and rollbacks) until its failed state is reset;
// the agent's own starts must still work, or a rollback away from a
// crash-looping release would leave the app down.
TEST_F(AgentDeployTest, StartLimitHit_DeployStillStartsTheService) {
  Apply("v1");
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(host_->Run({"systemctl", "restart", "hello-web.service"}).ok());
  }
  auto web = Show("hello-web.service", {"ActiveState", "Result"});
  ASSERT_EQ(web["Result"], "start-limit-hit") << "could not provoke the start limit";
  ASSERT_EQ(web["ActiveState"], "failed");

  Apply("v2");
  EXPECT_EQ(Body(), "hello v2");
  EXPECT_EQ(Show("hello-web.service", {"ActiveState"})["ActiveState"], "active");
}

TEST_F(AgentDeployTest, TagSwitchWithUnchangedDependencies_ReusesTheEnvironment_RunsTheNewCode) {
  Apply("v1");
  Apply("v2");
  const std::string v1_inode = Run({"sh", "-c", absl::StrCat("stat -c %i ", ReleaseDir("v1"),
      "/.venv/lib/python3*/site-packages/hello-*.dist-info/METADATA")});
  const std::string v2_inode = Run({"sh", "-c", absl::StrCat("stat -c %i ", ReleaseDir("v2"),
      "/.venv/lib/python3*/site-packages/hello-*.dist-info/METADATA")});
  ASSERT_FALSE(v1_inode.empty());
  EXPECT_EQ(v1_inode, v2_inode) << "v1 and v2 pin the same: one environment, shared";
  // The copied environment's editable install names v2's tree, and the
  // service runs v2's code.
  const std::string finder = Run({"sh", "-c", absl::StrCat("cat ", ReleaseDir("v2"),
      "/.venv/lib/python3*/site-packages/__editable__*hello*")});
  EXPECT_TRUE(absl::StrContains(finder, ReleaseDir("v2"))) << finder;
  EXPECT_FALSE(absl::StrContains(finder, ReleaseDir("v1"))) << finder;
  EXPECT_EQ(Body(), "hello v2");
  EXPECT_EQ(Run({"readlink", "/applications/hello/app/code"}), ReleaseDir("v2"));
}

TEST_F(AgentDeployTest, ChangedPinnedRequirements_RebuildTheEnvironment) {
  Apply("v2");
  const std::string out = Apply("v4-deps");
  EXPECT_FALSE(absl::StrContains(out, "reused the environment")) << out;
  const std::string v2_inode = Run({"sh", "-c", absl::StrCat("stat -c %i ", ReleaseDir("v2"),
      "/.venv/lib/python3*/site-packages/hello-*.dist-info/METADATA")});
  const std::string v4_inode = Run({"sh", "-c", absl::StrCat("stat -c %i ", ReleaseDir("v4-deps"),
      "/.venv/lib/python3*/site-packages/hello-*.dist-info/METADATA")});
  ASSERT_FALSE(v4_inode.empty());
  EXPECT_NE(v2_inode, v4_inode) << "a new environment for new pins";
  EXPECT_EQ(Body(), "hello v4");
  // Back to v2 for the suite's other tests.
  Apply("v2");
}

}  // namespace
}  // namespace pyservice::testing
