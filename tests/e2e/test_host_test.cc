// The e2e test-host harness itself: hosts boot, run commands, serve, and
// leave nothing behind. Every test boots real containers; on a machine that
// cannot, they fail with the reason (see test_host.h for why not skip).
#include "tests/e2e/testing/test_host.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/file/read_file.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::testing {
namespace {

// Prints an HTTP body to stdout; the outer machine and every host share
// /usr/bin/python3, so this works inside and from outside (Enter::kNetworkOnly).
std::vector<std::string> FetchCommand(const std::string& url) {
  return {"/usr/bin/python3", "-c",
          "import sys, urllib.request; "
          "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())",
          url};
}

constexpr char kWebUnit[] = R"([Unit]
Description=Test web server

[Service]
ExecStart=/usr/bin/python3 -m http.server 8000 --bind 127.0.0.1 --directory /srv/www
)";

// Writes and starts test-web.service, serving /srv/www/whoami.txt = `body`.
void StartWebServer(TestHost& host, const std::string& body) {
  ASSERT_TRUE(host.WriteFile("/srv/www/whoami.txt", body).ok());
  ASSERT_TRUE(host.WriteFile("/etc/systemd/system/test-web.service", kWebUnit).ok());
  auto reload = host.RunOk({"systemctl", "daemon-reload"});
  ASSERT_TRUE(reload.ok()) << reload.status();
  auto start = host.RunOk({"systemctl", "start", "test-web.service"});
  ASSERT_TRUE(start.ok()) << start.status();
}

std::string MountTable() {
  std::ifstream in("/proc/self/mountinfo");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// cgroup directories whose name ends with `suffix`, anywhere under
// /sys/fs/cgroup.
std::vector<std::string> CgroupsEndingWith(const std::string& suffix) {
  std::vector<std::string> found;
  std::error_code error;
  for (std::filesystem::recursive_directory_iterator it(
           "/sys/fs/cgroup", std::filesystem::directory_options::skip_permission_denied, error),
       end;
       it != end; it.increment(error)) {
    if (it->is_directory(error) && absl::EndsWith(it->path().filename().string(), suffix)) {
      found.push_back(it->path().string());
    }
  }
  return found;
}

std::string PidNamespaceOf(pid_t pid) {
  std::error_code error;
  return std::filesystem::read_symlink(absl::StrCat("/proc/", pid, "/ns/pid"), error).string();
}

// PIDs of processes in PID namespace `ns` or with `needle` on their
// command line or in their cgroup path (a host's cgroups are named after
// it).
std::vector<std::string> ProcessesLeft(const std::string& ns, const std::string& needle) {
  std::vector<std::string> left;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    // Not ifstreams: libstdc++ throws from a read of a process that exited
    // meanwhile (ESRCH).
    std::string cmdline =
        ReadFileToString((entry.path() / "cmdline").string(), 1 << 20).value_or("");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    const std::string cgroup =
        ReadFileToString((entry.path() / "cgroup").string(), 1 << 20).value_or("");
    if (std::filesystem::read_symlink(entry.path() / "ns" / "pid", error).string() == ns ||
        absl::StrContains(cmdline, needle) || absl::StrContains(cgroup, needle)) {
      left.push_back(absl::StrCat(pid, ": ", cmdline));
    }
  }
  return left;
}

TEST(TestHostTest, BootsToRunningOrDegraded) {
  auto host = TestHost::Boot();
  ASSERT_TRUE(host.ok()) << host.status();
  std::cout << "test host booted in " << absl::FormatDuration((*host)->boot_duration()) << "\n";
  ::testing::Test::RecordProperty("boot_ms",
                                  absl::ToInt64Milliseconds((*host)->boot_duration()));

  auto state = (*host)->Run({"systemctl", "is-system-running"});
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(state->stdout_text == "running\n" || state->stdout_text == "degraded\n")
      << state->stdout_text;
  // It really is the container's own systemd, PID 1 in there.
  auto comm = (*host)->RunOk({"cat", "/proc/1/comm"});
  ASSERT_TRUE(comm.ok()) << comm.status();
  EXPECT_EQ(*comm, "systemd\n");
  auto hostname = (*host)->RunOk({"hostname"});
  ASSERT_TRUE(hostname.ok()) << hostname.status();
  EXPECT_EQ(*hostname, (*host)->machine_name() + "\n");
  // In a cgroup of its own, so hosts never share units' cgroups.
  std::ifstream cgroup(absl::StrCat("/proc/", (*host)->systemd_pid(), "/cgroup"));
  EXPECT_TRUE(absl::StrContains(std::string(std::istreambuf_iterator<char>(cgroup), {}),
                                "-" + (*host)->machine_name() + "/payload/"));
  const std::vector<std::string> cgroups = (*host)->cgroups();
  ASSERT_FALSE(cgroups.empty());

  // An orderly shutdown, within stop_timeout.
  const absl::Time stopping = absl::Now();
  const absl::Status stopped = (*host)->Stop();
  EXPECT_TRUE(stopped.ok()) << stopped;
  std::cout << "test host stopped in " << absl::FormatDuration(absl::Now() - stopping) << "\n";
  EXPECT_TRUE(absl::StrContains((*host)->ReadLog(), "has been shut down"))
      << (*host)->ReadLog();
  for (const std::string& dir : cgroups) EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
}

TEST(TestHostTest, RunReturnsExitCodeStdoutAndStderr) {
  auto host = TestHost::Boot();
  ASSERT_TRUE(host.ok()) << host.status();

  auto result = (*host)->Run({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_EQ(result->stdout_text, "out\n");
  EXPECT_EQ(result->stderr_text, "err\n");

  auto echoed = (*host)->RunOk({"cat"}, {.stdin_text = "from stdin"});
  ASSERT_TRUE(echoed.ok()) << echoed.status();
  EXPECT_EQ(*echoed, "from stdin");

  auto failed = (*host)->RunOk({"false"});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal);

  auto slow = (*host)->Run({"sleep", "30"}, {.timeout = absl::Milliseconds(300)});
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded) << slow.status();
}

TEST(TestHostTest, FilesAreWrittenAndReadInsideTheHost) {
  auto host = TestHost::Boot();
  ASSERT_TRUE(host.ok()) << host.status();

  ASSERT_TRUE((*host)->WriteFile("/etc/pyservice-test/secret", "s3cret\n", 0600).ok());
  auto content = (*host)->ReadFile("/etc/pyservice-test/secret");
  ASSERT_TRUE(content.ok()) << content.status();
  EXPECT_EQ(*content, "s3cret\n");
  auto mode = (*host)->RunOk({"stat", "-c", "%a", "/etc/pyservice-test/secret"});
  ASSERT_TRUE(mode.ok()) << mode.status();
  EXPECT_EQ(*mode, "600\n");
  // The host's /etc is its own tmpfs, not the outer machine's.
  EXPECT_FALSE(std::filesystem::exists("/etc/pyservice-test/secret"));

  EXPECT_EQ((*host)->ReadFile("/etc/pyservice-test/missing").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(TestHostTest, OverlayRootHasTheOuterPackagesAndKeepsWritesToItself) {
  auto host = TestHost::Boot({.overlay_root = true});
  ASSERT_TRUE(host.ok()) << host.status();
  // The outer machine's dpkg database, so packages install as on a real host.
  auto installed = (*host)->RunOk({"dpkg-query", "-W", "-f=${Status}", "systemd"});
  ASSERT_TRUE(installed.ok()) << installed.status();
  EXPECT_EQ(*installed, "install ok installed");
  // /usr and /etc are writable inside, and nothing written reaches outside.
  const std::string probe = absl::StrCat("/usr/share/pyservice-overlay-probe-", getpid());
  ASSERT_TRUE((*host)->WriteFile(probe, "x").ok());
  ASSERT_TRUE((*host)->WriteFile("/etc/pyservice-overlay-probe", "x").ok());
  EXPECT_TRUE((*host)->ReadFile(probe).ok());
  EXPECT_FALSE(std::filesystem::exists(probe));
  EXPECT_FALSE(std::filesystem::exists("/etc/pyservice-overlay-probe"));
}

TEST(TestHostTest, BindMountsAreVisibleInside) {
  TempDir read_only, read_write;
  {
    std::ofstream(read_only.Join("given.txt")) << "given";
  }
  auto host = TestHost::Boot({.binds = {{.source = read_only.path(), .target = "/mnt/ro"},
                                        {.source = read_write.path(),
                                         .target = "/mnt/rw",
                                         .read_only = false}}});
  ASSERT_TRUE(host.ok()) << host.status();

  auto given = (*host)->ReadFile("/mnt/ro/given.txt");
  ASSERT_TRUE(given.ok()) << given.status();
  EXPECT_EQ(*given, "given");
  EXPECT_FALSE((*host)->WriteFile("/mnt/ro/nope.txt", "x").ok());
  ASSERT_TRUE((*host)->WriteFile("/mnt/rw/made.txt", "made inside").ok());
  std::ifstream made(read_write.Join("made.txt"));
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(made), {}), "made inside");
}

TEST(TestHostTest, RejectsBadBindMounts) {
  auto relative = TestHost::Boot({.binds = {{.source = "relative", .target = "/mnt"}}});
  EXPECT_EQ(relative.status().code(), absl::StatusCode::kInvalidArgument) << relative.status();
  auto colon = TestHost::Boot({.binds = {{.source = "/tmp", .target = "/mnt/a:b"}}});
  EXPECT_EQ(colon.status().code(), absl::StatusCode::kInvalidArgument) << colon.status();
}

TEST(TestHostTest, WebServerUnitAnswersOnLoopbackInside) {
  auto host = TestHost::Boot();
  ASSERT_TRUE(host.ok()) << host.status();
  ASSERT_NO_FATAL_FAILURE(StartWebServer(**host, "hello from the host"));

  auto body = (*host)->RunUntilSuccess(FetchCommand("http://127.0.0.1:8000/whoami.txt"),
                                       absl::Seconds(15));
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(body->stdout_text, "hello from the host");
  auto active = (*host)->RunOk({"systemctl", "is-active", "test-web.service"});
  ASSERT_TRUE(active.ok()) << active.status();
  EXPECT_EQ(*active, "active\n");
}

TEST(TestHostTest, PrivateNetworkHostsEachServePort8000) {
  auto first = TestHost::Boot({.private_network = true});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = TestHost::Boot({.private_network = true});
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_NE((*first)->machine_name(), (*second)->machine_name());

  ASSERT_NO_FATAL_FAILURE(StartWebServer(**first, "first"));
  ASSERT_NO_FATAL_FAILURE(StartWebServer(**second, "second"));
  // Checked from outside, in each host's network namespace only: each
  // answers with its own server on the same port.
  for (auto* host : {&*first, &*second}) {
    auto body = (*host)->RunUntilSuccess(FetchCommand("http://127.0.0.1:8000/whoami.txt"),
                                         absl::Seconds(15), {.enter = Enter::kNetworkOnly});
    ASSERT_TRUE(body.ok()) << body.status();
    EXPECT_EQ(body->stdout_text, host == &*first ? "first" : "second");
  }
  // And the outer machine's loopback does not see them.
  ProcessOptions fetch;
  fetch.argv = FetchCommand("http://127.0.0.1:8000/whoami.txt");
  auto outside = RunProcess(fetch);
  ASSERT_TRUE(outside.ok()) << outside.status();
  EXPECT_FALSE(outside->stdout_text == "first" || outside->stdout_text == "second");
}

// What a destroyed host must leave behind: nothing.
struct Leftovers {
  std::string machine_name;
  pid_t nspawn_pid = 0;
  std::string pid_namespace;
  std::vector<std::string> cgroups;
};

void ExpectNothingLeft(const Leftovers& host, const std::string& mounts_before) {
  errno = 0;
  EXPECT_EQ(kill(host.nspawn_pid, 0), -1) << "systemd-nspawn " << host.nspawn_pid << " alive";
  EXPECT_EQ(errno, ESRCH);
  EXPECT_EQ(ProcessesLeft(host.pid_namespace, host.machine_name), std::vector<std::string>());
  EXPECT_EQ(MountTable(), mounts_before);
  EXPECT_FALSE(host.cgroups.empty());
  for (const std::string& dir : host.cgroups) EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
}

TEST(TestHostTest, DestructorLeavesNoProcessOrMountBehind) {
  const std::string mounts_before = MountTable();
  Leftovers leftovers;
  {
    auto host = TestHost::Boot();
    ASSERT_TRUE(host.ok()) << host.status();
    // Something running inside, as a test would leave it when it fails.
    ASSERT_NO_FATAL_FAILURE(StartWebServer(**host, "x"));
    leftovers = {(*host)->machine_name(), (*host)->nspawn_pid(),
                 PidNamespaceOf((*host)->systemd_pid()), (*host)->cgroups()};
    ASSERT_FALSE(leftovers.pid_namespace.empty());
    ASSERT_FALSE(ProcessesLeft(leftovers.pid_namespace, leftovers.machine_name).empty());
  }
  ExpectNothingLeft(leftovers, mounts_before);
}

TEST(TestHostTest, BootTimeoutFailsWithDiagnosticsAndCleansUp) {
  const std::string mounts_before = MountTable();
  const std::string name = absl::StrCat("pyst-slow-", getpid());
  auto host = TestHost::Boot({.machine_name = name, .boot_timeout = absl::Milliseconds(1)});
  ASSERT_EQ(host.status().code(), absl::StatusCode::kDeadlineExceeded) << host.status();
  EXPECT_TRUE(absl::StrContains(host.status().message(), name)) << host.status();
  EXPECT_TRUE(absl::StrContains(host.status().message(), "systemd-nspawn output"))
      << host.status();
  EXPECT_EQ(ProcessesLeft("none", name), std::vector<std::string>());
  EXPECT_EQ(MountTable(), mounts_before);
  EXPECT_EQ(CgroupsEndingWith("-" + name), std::vector<std::string>());
}

TEST(TestHostTest, StopKillsAHostThatDoesNotShutDownInTime) {
  const std::string mounts_before = MountTable();
  auto host = TestHost::Boot({.stop_timeout = absl::ZeroDuration()});
  ASSERT_TRUE(host.ok()) << host.status();
  const Leftovers leftovers = {(*host)->machine_name(), (*host)->nspawn_pid(),
                               PidNamespaceOf((*host)->systemd_pid()), (*host)->cgroups()};

  const absl::Status stopped = (*host)->Stop();
  EXPECT_EQ(stopped.code(), absl::StatusCode::kDeadlineExceeded) << stopped;
  ExpectNothingLeft(leftovers, mounts_before);
  EXPECT_TRUE((*host)->Stop().ok());
  EXPECT_EQ((*host)->Run({"true"}).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace pyservice::testing
