#include "tests/e2e/testing/host_cgroup.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace pyservice::testing {
namespace {

constexpr absl::string_view kPrefix = "pyservice-";

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Where a hierarchy is mounted and which line of /proc/self/cgroup gives
// our place in it.
struct Hierarchy {
  std::string mount_point;
  std::string proc_controllers;  // "" for cgroup2, "name=systemd" for v1
};

std::vector<Hierarchy> SystemdHierarchies() {
  std::vector<Hierarchy> found;
  for (absl::string_view line : absl::StrSplit(ReadWholeFile("/proc/self/mountinfo"), '\n')) {
    // "ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS... - FSTYPE SOURCE SUPER_OPTIONS"
    std::vector<absl::string_view> halves = absl::StrSplit(line, " - ");
    if (halves.size() != 2) continue;
    std::vector<absl::string_view> before = absl::StrSplit(halves[0], ' ');
    std::vector<absl::string_view> after = absl::StrSplit(halves[1], ' ');
    if (before.size() < 5 || after.size() < 3) continue;
    if (after[0] == "cgroup2") {
      found.push_back({std::string(before[4]), ""});
    } else if (after[0] == "cgroup" &&
               absl::StrContains(absl::StrCat(",", after[2], ","), ",name=systemd,")) {
      found.push_back({std::string(before[4]), "name=systemd"});
    }
  }
  return found;
}

// Our cgroup in the hierarchy /proc/self/cgroup lists with `controllers`.
std::string OwnCgroup(absl::string_view controllers) {
  for (absl::string_view line : absl::StrSplit(ReadWholeFile("/proc/self/cgroup"), '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() == 3 && fields[1] == controllers) return std::string(fields[2]);
  }
  return "";
}

// Deepest first, since only empty cgroups can be removed (and their
// control files cannot be unlinked at all: rmdir is the only operation).
bool RemoveTree(const std::filesystem::path& dir, std::string& error) {
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ignored)) {
    if (entry.is_directory(ignored) && !entry.is_symlink(ignored)) {
      if (!RemoveTree(entry.path(), error)) return false;
    }
  }
  if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
  error = absl::StrCat("rmdir ", dir.string(), ": ", std::strerror(errno));
  return false;
}

void KillTree(const std::filesystem::path& dir) {
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ignored)) {
    if (entry.is_directory(ignored) && !entry.is_symlink(ignored)) KillTree(entry.path());
  }
  for (absl::string_view line : absl::StrSplit(ReadWholeFile(dir / "cgroup.procs"), '\n')) {
    pid_t pid = 0;
    if (absl::SimpleAtoi(line, &pid) && pid > 0) kill(pid, SIGKILL);
  }
}

// "pyservice-<PID>-..." of a PID that no longer exists: a test binary that
// died (its hosts died with it: PR_SET_PDEATHSIG). rmdir removes only
// empty cgroups, so a tree still in use is never touched.
void RemoveStaleCgroups(const std::string& parent) {
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator(parent, ignored)) {
    const std::string filename = entry.path().filename().string();
    absl::string_view name = filename;
    pid_t pid = 0;
    if (!absl::ConsumePrefix(&name, kPrefix) ||
        !absl::SimpleAtoi(name.substr(0, name.find('-')), &pid) || pid <= 0 ||
        kill(pid, 0) == 0 || errno != ESRCH) {
      continue;
    }
    std::string error;
    RemoveTree(entry.path(), error);
  }
}

}  // namespace

void KillCgroupTrees(const std::vector<std::string>& dirs) {
  for (const std::string& dir : dirs) {
    // cgroup.kill (Linux 5.14+) also catches processes forking meanwhile.
    std::ofstream(absl::StrCat(dir, "/cgroup.kill")) << "1";
    KillTree(dir);
  }
}

absl::StatusOr<std::vector<std::string>> CreateHostCgroups(absl::string_view machine_name) {
  const std::string leaf = absl::StrCat(kPrefix, getpid(), "-", machine_name);
  std::vector<std::string> dirs;
  for (const Hierarchy& hierarchy : SystemdHierarchies()) {
    const std::string own = OwnCgroup(hierarchy.proc_controllers);
    if (own.empty()) continue;
    const std::string parent = absl::StrCat(hierarchy.mount_point, own == "/" ? "" : own);
    RemoveStaleCgroups(parent);
    std::string dir = absl::StrCat(parent, "/", leaf);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create cgroup ", dir, ": ", std::strerror(errno)));
    }
    dirs.push_back(std::move(dir));
  }
  if (dirs.empty()) {
    return absl::FailedPreconditionError(
        "no cgroup2 or name=systemd cgroup hierarchy is mounted; systemd-nspawn needs one");
  }
  return dirs;
}

absl::Status RemoveCgroupTrees(const std::vector<std::string>& dirs, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<std::string> errors;
  for (const std::string& dir : dirs) {
    std::string error;
    // EBUSY while the container's last processes are still exiting.
    while (!RemoveTree(dir, error) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (std::filesystem::exists(dir)) errors.push_back(error);
  }
  if (!errors.empty()) {
    return absl::InternalError(absl::StrCat("cgroups left behind: ", absl::StrJoin(errors, "; ")));
  }
  return absl::OkStatus();
}

}  // namespace pyservice::testing
