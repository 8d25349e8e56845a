#include "tests/e2e/testing/test_host.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"
#include "tests/e2e/testing/host_cgroup.h"
#include "tests/e2e/testing/nspawn_launcher.h"

namespace pyservice::testing {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(50);
constexpr absl::Duration kKillGrace = absl::Seconds(5);

// Commands inside the host get a fixed, minimal environment instead of the
// test's (which may point at the outer machine's session bus, pyenv shims
// or a pager).
const std::vector<std::string>& HostEnvironment() {
  static const auto* env = new std::vector<std::string>{
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "HOME=/root",
      "LANG=C.UTF-8",
      "TERM=dumb",
      "SYSTEMD_PAGER=",
      "SYSTEMD_COLORS=0",
  };
  return *env;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string LastLines(absl::string_view text, size_t count) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (lines.size() > count) lines.erase(lines.begin(), lines.end() - count);
  return absl::StrJoin(lines, "\n");
}

std::string UniqueMachineName() {
  static std::atomic<int> counter{0};
  return absl::StrCat("pyst-", getpid(), "-", counter++);
}

absl::Status ValidateOptions(const TestHostOptions& options) {
  const std::string& name = options.machine_name;
  if (name.empty() || name.size() > 64 ||
      !std::all_of(name.begin(), name.end(),
                   [](char c) { return absl::ascii_isalnum(c) || c == '-'; })) {
    return absl::InvalidArgumentError(absl::StrCat(
        "machine_name \"", name, "\" must be 1-64 letters, digits or '-'"));
  }
  for (const BindMount& bind : options.binds) {
    for (const std::string* path : {&bind.source, &bind.target}) {
      // nspawn splits --bind=SOURCE:TARGET on ':'.
      if (!absl::StartsWith(*path, "/") || absl::StrContains(*path, ":")) {
        return absl::InvalidArgumentError(absl::StrCat(
            "bind mount path \"", *path, "\" must be absolute and contain no ':'"));
      }
    }
    if (!std::filesystem::exists(bind.source)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bind mount source ", bind.source, " does not exist"));
    }
  }
  return absl::OkStatus();
}

// "Key:\tvalue" from /proc/PID/status; empty when absent or gone.
std::string ProcStatusField(pid_t pid, absl::string_view key) {
  const std::string status = ReadWholeFile(absl::StrCat("/proc/", pid, "/status"));
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (absl::ConsumePrefix(&line, key) && absl::ConsumePrefix(&line, ":")) {
      return std::string(absl::StripAsciiWhitespace(line));
    }
  }
  return "";
}

// True when `pid` is a child of `parent` and PID 1 of its own PID
// namespace: the container's init (nspawn's other children are its setup
// helpers).
bool IsContainerInitOf(pid_t pid, pid_t parent) {
  if (ProcStatusField(pid, "PPid") != absl::StrCat(parent)) return false;
  std::vector<absl::string_view> ns_pids =
      absl::StrSplit(ProcStatusField(pid, "NSpid"), absl::ByAnyChar(" \t"), absl::SkipEmpty());
  return ns_pids.size() >= 2 && ns_pids.back() == "1";
}

std::string DescribeWaitStatus(int status) {
  if (WIFSIGNALED(status)) return absl::StrCat("killed by signal ", WTERMSIG(status));
  return absl::StrCat("exit status ", WEXITSTATUS(status));
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestHost>> TestHost::Boot(TestHostOptions options) {
  RETURN_IF_ERROR(CheckCanBootTestHosts());
  if (options.machine_name.empty()) options.machine_name = UniqueMachineName();
  RETURN_IF_ERROR(ValidateOptions(options));
  std::string work_dir = "/tmp/pyservice-host.XXXXXX";
  if (mkdtemp(work_dir.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", std::strerror(errno)));
  }
  std::unique_ptr<TestHost> host(new TestHost(std::move(options), std::move(work_dir)));
  const absl::Time start = absl::Now();
  // On error `host` is destroyed here, which stops whatever did start.
  RETURN_IF_ERROR(host->Start());
  RETURN_IF_ERROR(host->WaitUntilRunning());
  host->booted_ = true;
  host->boot_duration_ = absl::Now() - start;
  return host;
}

TestHost::~TestHost() {
  Stop().IgnoreError();
  std::error_code ignored;
  std::filesystem::remove_all(work_dir_, ignored);
}

absl::Status TestHost::Start() {
  ASSIGN_OR_RETURN(cgroups_, CreateHostCgroups(options_.machine_name));
  ASSIGN_OR_RETURN(nspawn_pid_,
                   LaunchNspawn(NspawnCommandLine(options_.machine_name, options_.binds,
                                                  options_.private_network,
                                                  options_.overlay_root
                                                      ? absl::StrCat(work_dir_, "/overlay")
                                                      : "",
                                                  options_.masked_units),
                                absl::StrCat(work_dir_, "/nspawn.log"), cgroups_));
  return absl::OkStatus();
}

pid_t TestHost::FindContainerInit() const {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    if (IsContainerInitOf(pid, nspawn_pid_)) return pid;
  }
  return 0;
}

absl::Status TestHost::WaitUntilRunning() {
  const absl::Time deadline = absl::Now() + options_.boot_timeout;
  std::string last_state = "(systemd not started yet)";
  while (absl::Now() < deadline) {
    if (WaitForNspawnExit(absl::ZeroDuration())) {
      return absl::InternalError(absl::StrCat(
          "test host ", options_.machine_name, ": systemd-nspawn ended while booting (",
          nspawn_exit_, "); its output:\n", LastLines(ReadLog(), 60)));
    }
    if (systemd_pid_ == 0) systemd_pid_ = FindContainerInit();
    // Before exec, the container's PID 1 is still nspawn code.
    if (systemd_pid_ != 0 && ProcStatusField(systemd_pid_, "Name") == "systemd") {
      // Fails ("Failed to connect to bus") until systemd is far enough.
      absl::StatusOr<ProcessResult> state =
          Run({"systemctl", "is-system-running"}, {.timeout = absl::Seconds(10)});
      if (state.ok()) {
        last_state = std::string(absl::StripAsciiWhitespace(
            absl::StrCat(state->stdout_text, " ", state->stderr_text)));
        if (last_state == "running" || last_state == "degraded") return absl::OkStatus();
      }
    }
    absl::SleepFor(kPollInterval);
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "test host ", options_.machine_name, " did not reach running/degraded within ",
      absl::FormatDuration(options_.boot_timeout), "; last state: ", last_state, "\n",
      DescribeBootFailure()));
}

std::string TestHost::DescribeBootFailure() {
  std::string report;
  if (systemd_pid_ != 0) {
    for (const std::vector<std::string>& argv :
         {std::vector<std::string>{"systemctl", "--failed", "--no-pager"},
          std::vector<std::string>{"systemctl", "list-jobs", "--no-pager"}}) {
      absl::StatusOr<ProcessResult> result = Run(argv, {.timeout = absl::Seconds(5)});
      absl::StrAppend(&report, "$ ", absl::StrJoin(argv, " "), "\n",
                      result.ok() ? absl::StrCat(result->stdout_text, result->stderr_text)
                                  : result.status().ToString(),
                      "\n");
    }
  }
  absl::StrAppend(&report, "systemd-nspawn output (last lines):\n", LastLines(ReadLog(), 60));
  return report;
}

absl::StatusOr<ProcessResult> TestHost::Run(const std::vector<std::string>& argv,
                                            const RunOptions& options) {
  if (systemd_pid_ == 0 || nspawn_pid_ == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("test host ", options_.machine_name, " is not running"));
  }
  if (argv.empty()) return absl::InvalidArgumentError("TestHost::Run: empty argv");
  // timeout(1) runs inside (for kAll), so it kills the command itself, not
  // just nsenter, which forks to enter the PID namespace.
  std::vector<std::string> full = {
      FindExecutable("nsenter"), "-t", absl::StrCat(systemd_pid_),
      options.enter == Enter::kAll ? "-a" : "-n",
      "timeout", "--kill-after=5",
      absl::StrFormat("%.3fs", absl::ToDoubleSeconds(options.timeout))};
  full.insert(full.end(), argv.begin(), argv.end());
  ProcessOptions process;
  process.argv = std::move(full);
  process.env = HostEnvironment();
  process.stdin_text = options.stdin_text;
  ASSIGN_OR_RETURN(ProcessResult result, RunProcess(process));
  if (result.term_signal == 0 && result.exit_code == 124) {
    return absl::DeadlineExceededError(absl::StrCat(
        "on ", options_.machine_name, ": `", absl::StrJoin(argv, " "), "` still running after ",
        absl::FormatDuration(options.timeout), "; stdout: ", result.stdout_text,
        " stderr: ", result.stderr_text));
  }
  return result;
}

absl::StatusOr<std::string> TestHost::RunOk(const std::vector<std::string>& argv,
                                            const RunOptions& options) {
  ASSIGN_OR_RETURN(ProcessResult result, Run(argv, options));
  if (!result.Succeeded()) {
    return absl::InternalError(absl::StrCat("on ", options_.machine_name, ": `",
                                            absl::StrJoin(argv, " "), "` ", result.Describe(),
                                            ": ", result.stderr_text, result.stdout_text));
  }
  return std::move(result.stdout_text);
}

absl::StatusOr<ProcessResult> TestHost::RunUntilSuccess(const std::vector<std::string>& argv,
                                                        absl::Duration timeout,
                                                        const RunOptions& options) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last;
  while (true) {
    absl::StatusOr<ProcessResult> result = Run(argv, options);
    if (result.ok() && result->Succeeded()) return result;
    last = result.ok() ? absl::StrCat(result->Describe(), "; stdout: ", result->stdout_text,
                                      " stderr: ", result->stderr_text)
                       : result.status().ToString();
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "on ", options_.machine_name, ": `", absl::StrJoin(argv, " "), "` did not succeed within ",
      absl::FormatDuration(timeout), "; last attempt: ", last));
}

absl::StatusOr<std::string> TestHost::ReadFile(const std::string& path) {
  ASSIGN_OR_RETURN(ProcessResult result, Run({"cat", "--", path}));
  if (!result.Succeeded()) {
    const std::string what =
        absl::StrCat("on ", options_.machine_name, ": cannot read ", path, ": ", result.stderr_text);
    if (absl::StrContains(result.stderr_text, "No such file")) return absl::NotFoundError(what);
    return absl::InternalError(what);
  }
  return std::move(result.stdout_text);
}

absl::Status TestHost::WriteFile(const std::string& path, const std::string& content, int mode) {
  // umask 077 until the chmod: the content is never readable by others,
  // even for a moment, whatever `mode` ends up being.
  ASSIGN_OR_RETURN(
      ProcessResult result,
      Run({"sh", "-c",
           "umask 077 && mkdir -p -- \"$(dirname -- \"$1\")\" && cat > \"$1\" && "
           "chmod \"$2\" \"$1\"",
           "sh", path, absl::StrFormat("%o", mode)},
          {.stdin_text = content}));
  if (!result.Succeeded()) {
    return absl::InternalError(absl::StrCat("on ", options_.machine_name, ": cannot write ", path,
                                            ": ", result.stderr_text));
  }
  return absl::OkStatus();
}

std::string TestHost::ReadLog() const {
  return ReadWholeFile(absl::StrCat(work_dir_, "/nspawn.log"));
}

bool TestHost::WaitForNspawnExit(absl::Duration timeout) {
  if (nspawn_pid_ == 0) return true;
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    const pid_t reaped = waitpid(nspawn_pid_, &status, WNOHANG);
    if (reaped == nspawn_pid_ || (reaped < 0 && errno == ECHILD)) {
      nspawn_exit_ = reaped == nspawn_pid_ ? DescribeWaitStatus(status) : "reaped elsewhere";
      nspawn_pid_ = 0;
      return true;
    }
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

void TestHost::Kill() {
  // SIGKILL to the container's PID 1 ends every process in it, and nspawn
  // reaps it and exits as after a poweroff. (The PID 1 may appear only now,
  // for a host still starting up.) Killing nspawn first instead would hand
  // its unreaped children to the outer PID 1, and this machine's PID 1 is
  // slow to reap them.
  const absl::Time deadline = absl::Now() + kKillGrace;
  while (!WaitForNspawnExit(absl::Milliseconds(20)) && absl::Now() < deadline) {
    if (const pid_t init = FindContainerInit(); init != 0) kill(init, SIGKILL);
  }
  if (nspawn_pid_ == 0) return;
  // nspawn is stuck: everything of the host goes, nspawn included.
  KillCgroupTrees(cgroups_);
  kill(nspawn_pid_, SIGKILL);
  WaitForNspawnExit(absl::InfiniteDuration());
}

absl::Status TestHost::Stop() {
  absl::Status status;
  if (nspawn_pid_ != 0) {
    // Before systemd has set up its signal handlers, the SIGRTMIN+3 nspawn
    // turns SIGTERM into is dropped (PID 1 ignores unhandled signals), and
    // nspawn would wait forever: a host that never booted is killed.
    if (booted_) {
      kill(nspawn_pid_, SIGTERM);
      if (!WaitForNspawnExit(options_.stop_timeout)) {
        status = absl::DeadlineExceededError(absl::StrCat(
            "test host ", options_.machine_name, " did not shut down within ",
            absl::FormatDuration(options_.stop_timeout), " of SIGTERM; killed it"));
      }
    }
    if (nspawn_pid_ != 0) Kill();
  }
  systemd_pid_ = 0;
  booted_ = false;
  if (!cgroups_.empty()) {
    // The container's last processes may still be exiting.
    absl::Status removed = RemoveCgroupTrees(cgroups_, kKillGrace);
    if (!removed.ok()) {
      KillCgroupTrees(cgroups_);
      removed = RemoveCgroupTrees(cgroups_, kKillGrace);
    }
    if (removed.ok()) cgroups_.clear();
    if (status.ok()) status = removed;
  }
  return status;
}

}  // namespace pyservice::testing
