// Starting the systemd-nspawn process of a test host (test_host.h): the
// ARCHITECTURE.md recipe as a command line, and the fork/exec that ties the
// process to the test binary's lifetime.
#ifndef PYSERVICE_TESTS_E2E_TESTING_NSPAWN_LAUNCHER_H_
#define PYSERVICE_TESTS_E2E_TESTING_NSPAWN_LAUNCHER_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pyservice::testing {

// Every field has an initializer so that designated initializers
// ({.source = ...}) compile without -Wmissing-field-initializers.
struct BindMount {
  std::string source{};  // absolute path on the outer machine
  std::string target{};  // absolute path inside the host
  bool read_only = true;
};

// OK when this machine can boot test hosts, else FAILED_PRECONDITION saying
// what is missing (not root, no systemd-nspawn, no unshare, no nsenter, or
// a sandbox that forbids mount namespaces).
absl::Status CheckCanBootTestHosts();

// Absolute path of `name` on PATH or in the sbin/bin directories PATH often
// lacks; empty when missing.
std::string FindExecutable(absl::string_view name);

// unshare -m + a tmpfs on /run/systemd/nspawn + systemd-nspawn --boot over
// the outer root: a tmpfs root with the outer /usr (--volatile=yes), or, with
// an overlay_dir (a path for the mount points, in the host's own
// directory), the outer root filesystem under a tmpfs overlay (nspawn
// refuses --volatile=overlay for "/"); with the given machine name, mounts,
// network and masks.
std::vector<std::string> NspawnCommandLine(const std::string& machine_name,
                                           const std::vector<BindMount>& binds,
                                           bool private_network,
                                           const std::string& overlay_dir,
                                           const std::vector<std::string>& masked_units);

// Starts `argv` as our child: stdin /dev/null, stdout and stderr to
// `log_path`, in its own process group, member of `cgroups` (see
// host_cgroup.h), and sent SIGTERM should the thread that started it die
// (PR_SET_PDEATHSIG). Returns its PID; the caller reaps it.
absl::StatusOr<pid_t> LaunchNspawn(std::vector<std::string> argv, const std::string& log_path,
                                   const std::vector<std::string>& cgroups);

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_E2E_TESTING_NSPAWN_LAUNCHER_H_
