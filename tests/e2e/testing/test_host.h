// A throwaway Linux host with a real systemd for end-to-end tests: a
// systemd-nspawn container booted over the outer machine's own root
// filesystem (docs: ARCHITECTURE.md, "Test hosts with a real systemd").
//
// The outer machine's PID 1 is not systemd, so everything that talks to
// systemd (the agent, the D-Bus adapter) is tested inside such a host.
// Each host has a throwaway tmpfs root (--volatile=yes: /usr is the outer
// machine's, /etc, /var, /opt start empty), its own D-Bus system bus and
// journal, optionally its own network namespace, and extra bind mounts.
//
// Usage:
//   auto host = TestHost::Boot({.private_network = true});
//   ASSERT_TRUE(host.ok()) << host.status();
//   auto started = (*host)->RunOk({"systemctl", "start", "x.service"});
//
// Cleanup is the destructor's job and happens on every path, including a
// failed ASSERT: the container is shut down, systemd-nspawn is reaped, and
// since nspawn runs in its own mount namespace (unshare -m) no mount is left
// on the outer machine. Each host runs in a cgroup of its own
// (host_cgroup.h), which is how a host that will not stop is killed to the
// last process, and which is removed at the end. Should the test binary
// itself die, the kernel sends systemd-nspawn SIGTERM (PR_SET_PDEATHSIG),
// which shuts the container down. Because PR_SET_PDEATHSIG follows the
// *thread* that forked, boot and destroy hosts from a thread that outlives
// them (gtest's main thread).
//
// Requires root, systemd-nspawn (package systemd-container), unshare and
// nsenter (util-linux). A machine without them cannot run the e2e tests;
// Boot() then says why with FAILED_PRECONDITION, and tests fail with that
// message rather than skip: a skipped e2e suite looks green and hides that
// nothing was tested.
#ifndef PYSERVICE_TESTS_E2E_TESTING_TEST_HOST_H_
#define PYSERVICE_TESTS_E2E_TESTING_TEST_HOST_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/process/subprocess.h"
#include "tests/e2e/testing/nspawn_launcher.h"  // BindMount, CheckCanBootTestHosts

namespace pyservice::testing {

// Every field has an initializer so that designated initializers
// ({.private_network = true}) compile without -Wmissing-field-initializers.
struct TestHostOptions {
  // The container's machine name and hostname; empty: a generated name that
  // is unique across concurrently running test binaries.
  std::string machine_name{};
  std::vector<BindMount> binds{};
  // Own network namespace with only a loopback interface, so several hosts
  // can each bind the same port. Reach the outer machine over a Unix socket
  // in a bind-mounted directory.
  bool private_network = false;
  // The root is normally a tmpfs with the outer machine's /usr read-only
  // (/etc and /var start empty). With this, it is the outer machine's whole
  // root filesystem under a throwaway writable tmpfs layer (overlayfs): its
  // /etc, its dpkg database and a writable /usr, so a test can install
  // Debian packages with dpkg as on a real machine; nothing reaches the
  // outer machine.
  bool overlay_root = false;
  // Units masked at boot in addition to systemd-networkd-wait-online.service
  // (which would keep a private-network host "starting" for two minutes):
  // units of packages installed on the outer machine that fail noisily.
  std::vector<std::string> masked_units{};
  // Until `systemctl is-system-running` says running or degraded.
  absl::Duration boot_timeout = absl::Seconds(60);
  // After SIGTERM, how long the container gets to shut down before it is
  // killed (SIGKILL).
  absl::Duration stop_timeout = absl::Seconds(10);
};

// Which namespaces of the host a command enters.
enum class Enter {
  // All of them (nsenter -a): the command runs inside the host, sees its
  // filesystem, its systemd, its network.
  kAll,
  // Only the network namespace (nsenter -n): the command is the outer
  // machine's and sees the outer filesystem, but the host's network, e.g.
  // to check from outside that an app answers on the host's 127.0.0.1.
  kNetworkOnly,
};

struct RunOptions {
  std::string stdin_text{};  // written to the command's stdin, then closed
  Enter enter = Enter::kAll;
  // A command still running after this is killed (timeout(1)) and Run
  // returns DEADLINE_EXCEEDED.
  absl::Duration timeout = absl::Seconds(60);
};

class TestHost {
 public:
  // Boots a host and waits until it is up. FAILED_PRECONDITION when this
  // machine cannot boot test hosts (with the reason), INVALID_ARGUMENT for
  // bad options, DEADLINE_EXCEEDED when the host did not come up within
  // boot_timeout (with `systemctl --failed` and nspawn's output), INTERNAL
  // when the container died while booting.
  static absl::StatusOr<std::unique_ptr<TestHost>> Boot(TestHostOptions options = {});

  TestHost(const TestHost&) = delete;
  TestHost& operator=(const TestHost&) = delete;
  // Stop(), ignoring its status: cleanup happens regardless.
  ~TestHost();

  const std::string& machine_name() const { return options_.machine_name; }
  // systemd-nspawn, our child.
  pid_t nspawn_pid() const { return nspawn_pid_; }
  // The container's systemd (PID 1 inside), as a PID of the outer machine.
  pid_t systemd_pid() const { return systemd_pid_; }
  // From starting systemd-nspawn to "running"/"degraded".
  absl::Duration boot_duration() const { return boot_duration_; }
  // The host's cgroup directories on the outer machine (removed by Stop).
  const std::vector<std::string>& cgroups() const { return cgroups_; }

  // Runs argv (no shell) inside the host and waits for it. A non-zero exit
  // is a result, not an error; errors are for commands that could not be
  // run at all or that hit options.timeout.
  absl::StatusOr<ProcessResult> Run(const std::vector<std::string>& argv,
                                    const RunOptions& options = {});
  // Run, but an exit other than 0 is an INTERNAL error carrying the command,
  // its exit status and its stderr. Returns stdout.
  absl::StatusOr<std::string> RunOk(const std::vector<std::string>& argv,
                                    const RunOptions& options = {});
  // Runs argv every 100 ms until it exits 0 (returning that result) or
  // `timeout` passes (DEADLINE_EXCEEDED with the last attempt's output).
  // For "wait until the server answers".
  absl::StatusOr<ProcessResult> RunUntilSuccess(const std::vector<std::string>& argv,
                                                absl::Duration timeout,
                                                const RunOptions& options = {});

  // Files inside the host, read and written from inside (so absolute
  // symlinks resolve as the host sees them). WriteFile creates parent
  // directories and sets `mode`. ReadFile: NOT_FOUND if missing.
  absl::StatusOr<std::string> ReadFile(const std::string& path);
  absl::Status WriteFile(const std::string& path, const std::string& content,
                         int mode = 0644);

  // Everything systemd-nspawn printed so far (the container's boot console
  // and nspawn's own messages), for failure reports.
  std::string ReadLog() const;

  // Shuts the host down: SIGTERM to systemd-nspawn (an orderly poweroff of
  // the container); after stop_timeout, or at once for a host that never
  // finished booting, SIGKILL to the container's PID 1 (which ends every
  // process in it), and should nspawn still not exit, to every process in
  // the host's cgroups; reaps nspawn and removes the cgroups. Idempotent.
  // Errors only report that the orderly path failed or a cgroup could not
  // be removed; the host's processes are gone either way.
  absl::Status Stop();

 private:
  TestHost(TestHostOptions options, std::string work_dir)
      : options_(std::move(options)), work_dir_(std::move(work_dir)) {}

  absl::Status Start();
  absl::Status WaitUntilRunning();
  // Finds the container's PID 1 among nspawn's children; 0 if not yet.
  pid_t FindContainerInit() const;
  // SIGKILL to the container's PID 1, and if that does not end nspawn, to
  // everything in the host's cgroups; reaps nspawn.
  void Kill();
  // Reaps nspawn if it has exited, within `timeout`; true when reaped.
  bool WaitForNspawnExit(absl::Duration timeout);
  // Diagnostics for a host that did not come up.
  std::string DescribeBootFailure();

  TestHostOptions options_;
  std::string work_dir_;  // holds nspawn's log; removed on destruction
  pid_t nspawn_pid_ = 0;  // 0 once reaped
  pid_t systemd_pid_ = 0;
  std::vector<std::string> cgroups_;  // see host_cgroup.h
  bool booted_ = false;  // reached running/degraded: SIGTERM will be heard
  std::string nspawn_exit_;  // how nspawn ended, once it did
  absl::Duration boot_duration_;
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_E2E_TESTING_TEST_HOST_H_
