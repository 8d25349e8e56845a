// A cgroup of its own for each test host.
//
// systemd-nspawn --keep-unit puts the container under the cgroup it was
// started in ("payload/…" below it). Started from the same cgroup, as every
// host of a test binary would be, all hosts would share one tree: a
// "hello-web.service" on host A and on host B would be the same cgroup, so
// one host's systemd could see, wait for or kill the other's processes, and
// the directories would pile up at the top of the hierarchy. So each host
// gets a fresh child of our own cgroup in every hierarchy systemd uses (the
// unified cgroup2 one, and the legacy name=systemd one on hybrid machines
// such as this one), nspawn is started inside it, and the tree is removed
// when the host is gone.
#ifndef PYSERVICE_TESTS_E2E_TESTING_HOST_CGROUP_H_
#define PYSERVICE_TESTS_E2E_TESTING_HOST_CGROUP_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pyservice::testing {

// Creates "pyservice-<our PID>-<machine_name>" below our own cgroup in each
// systemd-relevant hierarchy and returns the directories. A process joins
// them by writing "0" to DIR/cgroup.procs (which needs no allocation: fine
// after fork). FAILED_PRECONDITION when no such hierarchy is mounted.
//
// Also removes the (empty) cgroups of test binaries that died without
// cleaning up, recognised by the PID in their name.
absl::StatusOr<std::vector<std::string>> CreateHostCgroups(absl::string_view machine_name);

// SIGKILLs every process in each directory and below (cgroup.kill where
// the kernel has it, else each PID in cgroup.procs): what is left of a host
// that would not stop, orphans included.
void KillCgroupTrees(const std::vector<std::string>& dirs);

// Removes each directory and every cgroup below it, deepest first, retrying
// for up to `timeout` while the last processes finish exiting. Missing
// directories are fine.
absl::Status RemoveCgroupTrees(const std::vector<std::string>& dirs, absl::Duration timeout);

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_E2E_TESTING_HOST_CGROUP_H_
