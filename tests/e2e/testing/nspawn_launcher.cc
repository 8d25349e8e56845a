#include "tests/e2e/testing/nspawn_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/process/subprocess.h"

namespace pyservice::testing {
namespace {

// nspawn insists on cleaning up /run/systemd/nspawn and refuses when it is
// not a tmpfs; the outer machine has no systemd to provide one. A private
// mount namespace (unshare -m) gets its own tmpfs there, and every mount
// nspawn makes stays in that namespace and dies with it. "$@" is the nspawn
// command line, passed as arguments so that nothing is re-parsed by sh.
constexpr char kNspawnLauncher[] =
    "mkdir -p /run/systemd/nspawn && "
    "mount -t tmpfs tmpfs /run/systemd/nspawn && "
    "exec \"$@\"";

// The same, but first the outer root filesystem under a writable tmpfs layer
// at $1/root (the layer's directories in a tmpfs on $1, all in the private
// mount namespace): writes, package installs included, die with the host.
constexpr char kOverlayLauncher[] =
    "overlay=$1 && shift && "
    "mkdir -p /run/systemd/nspawn && "
    "mount -t tmpfs tmpfs /run/systemd/nspawn && "
    "mkdir -p \"$overlay\" && mount -t tmpfs tmpfs \"$overlay\" && "
    "mkdir \"$overlay/upper\" \"$overlay/work\" \"$overlay/root\" && "
    "mount -t overlay overlay "
    "-o \"lowerdir=/,upperdir=$overlay/upper,workdir=$overlay/work\" \"$overlay/root\" && "
    "exec \"$@\"";

// Without a network, systemd-networkd-wait-online would hold a
// private-network host in "starting" for two minutes.
constexpr char kAlwaysMasked[] = "systemd-networkd-wait-online.service";

}  // namespace

// Absolute path of `name` on PATH or in the sbin directories PATH often
// lacks; empty when missing.
std::string FindExecutable(absl::string_view name) {
  const char* path_env = getenv("PATH");
  std::vector<std::string> dirs =
      absl::StrSplit(path_env != nullptr ? path_env : "", ':', absl::SkipEmpty());
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) dirs.push_back(dir);
  for (const std::string& dir : dirs) {
    const std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

absl::Status CheckCanBootTestHosts() {
  constexpr absl::string_view kWhy = "this machine cannot boot e2e test hosts: ";
  if (geteuid() != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        kWhy, "they need root (systemd-nspawn, unshare -m, nsenter); run the e2e tests as root"));
  }
  struct Tool {
    const char* name;
    const char* package;
  };
  for (const Tool& tool : {Tool{"systemd-nspawn", "systemd-container"},
                           Tool{"unshare", "util-linux"}, Tool{"nsenter", "util-linux"},
                           Tool{"timeout", "coreutils"}, Tool{"sh", "dash"}}) {
    if (FindExecutable(tool.name).empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          kWhy, tool.name, " not found (Debian package ", tool.package, ")"));
    }
  }
  // Root is not enough inside some sandboxes (no CAP_SYS_ADMIN, seccomp).
  ProcessOptions probe;
  probe.argv = {FindExecutable("unshare"), "--mount", "true"};
  absl::StatusOr<ProcessResult> unshare = RunProcess(probe);
  if (!unshare.ok() || !unshare->Succeeded()) {
    return absl::FailedPreconditionError(absl::StrCat(
        kWhy, "`unshare --mount true` failed: ",
        unshare.ok() ? absl::StrCat(unshare->Describe(), ": ", unshare->stderr_text)
                     : unshare.status().ToString()));
  }
  return absl::OkStatus();
}

std::vector<std::string> NspawnCommandLine(const std::string& machine_name,
                                           const std::vector<BindMount>& binds,
                                           bool private_network,
                                           const std::string& overlay_dir,
                                           const std::vector<std::string>& masked_units) {
  std::vector<std::string> argv = {
      FindExecutable("unshare"), "--mount", "--propagation", "private",
      FindExecutable("sh"), "-c", overlay_dir.empty() ? kNspawnLauncher : kOverlayLauncher, "sh"};
  if (!overlay_dir.empty()) argv.push_back(overlay_dir);
  argv.insert(argv.end(), {
      FindExecutable("systemd-nspawn"),
      // The outer machine has no systemd to register with or to put the
      // container in a scope of its own.
      "--register=no", "--keep-unit",
      absl::StrCat("--machine=", machine_name),
      // Never grab the test's terminal; the console goes to the log.
      "--console=read-only"});
  if (overlay_dir.empty()) {
    // A tmpfs root with the outer /usr: nothing a test does persists.
    argv.insert(argv.end(), {"--volatile=yes", "--directory=/"});
  } else {
    argv.push_back(absl::StrCat("--directory=", overlay_dir, "/root"));
  }
  for (const BindMount& bind : binds) {
    argv.push_back(absl::StrCat(bind.read_only ? "--bind-ro=" : "--bind=", bind.source, ":",
                                bind.target));
  }
  if (private_network) argv.push_back("--private-network");
  argv.insert(argv.end(), {"--boot", "systemd.firstboot=off",
                           absl::StrCat("systemd.mask=", kAlwaysMasked)});
  for (const std::string& unit : masked_units) {
    argv.push_back(absl::StrCat("systemd.mask=", unit));
  }
  return argv;
}

absl::StatusOr<pid_t> LaunchNspawn(std::vector<std::string> argv, const std::string& log_path,
                                   const std::vector<std::string>& cgroups) {
  std::vector<std::string> cgroup_procs;
  for (const std::string& dir : cgroups) cgroup_procs.push_back(absl::StrCat(dir, "/cgroup.procs"));
  // Everything the child touches is prepared before fork: a threaded
  // parent's child may only make async-signal-safe calls.
  std::vector<char*> argv_pointers;
  for (std::string& arg : argv) argv_pointers.push_back(arg.data());
  argv_pointers.push_back(nullptr);
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) {
    if (log_fd >= 0) close(log_fd);
    if (null_fd >= 0) close(null_fd);
    return absl::InternalError(absl::StrCat("cannot open ", log_path, " or /dev/null"));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // Own process group: a ^C meant for the test does not reach nspawn
    // directly; the death signal below handles a dying test instead.
    setpgid(0, 0);
    // SIGTERM, not SIGKILL: nspawn turns it into an orderly poweroff of the
    // container, whereas a killed nspawn would leave the container's
    // systemd running, orphaned.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    // "0" moves the writing process; nspawn then builds the container's
    // cgroups below this one.
    for (const std::string& procs : cgroup_procs) {
      const int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write(fd, "0", 1) != 1) {
        constexpr char kMessage[] = "test host: cannot join its cgroup\n";
        (void)!write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
        _exit(126);
      }
      close(fd);
    }
    execv(argv_pointers[0], argv_pointers.data());
    _exit(127);
  }
  const int fork_errno = errno;
  close(log_fd);
  close(null_fd);
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(fork_errno)));
  return pid;
}


}  // namespace pyservice::testing
