// The real pyservice-controller and pyctl binaries, as an operator runs
// them: a controller process on a Unix socket and an ephemeral TCP port
// with its store in a temp dir, and pyctl processes talking to it.
#ifndef PYSERVICE_TESTS_INTEGRATION_CONTROLLER_HARNESS_H_
#define PYSERVICE_TESTS_INTEGRATION_CONTROLLER_HARNESS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/process/subprocess.h"
#include "tests/testing/child_process.h"

namespace pyservice::testing {

// Long enough for a loaded CI machine; a healthy start takes milliseconds.
inline constexpr absl::Duration kStartTimeout = absl::Seconds(20);

// The address in a "listening on ADDR" log line, or "" if `line` is not one.
std::string AddressFromListeningLine(absl::string_view line);

class ControllerHarness {
 public:
  // Everything lives under `dir`: run/controller.sock, data/, secrets.key
  // and the controller's output files (controller-N.stderr for the N-th
  // start).
  explicit ControllerHarness(std::string dir);

  // Starts the controller with --listen unix:SOCKET --listen 127.0.0.1:0
  // --data-dir DATA plus `extra_args`, and waits until it logs both
  // "listening on" lines.
  absl::Status Start(const std::vector<std::string>& extra_args = {});
  // Sends `signal_number` and waits for the process to end.
  absl::StatusOr<ExitStatus> Stop(int signal_number);

  // "unix:/…/run/controller.sock".
  std::string unix_address() const { return "unix:" + socket_path_; }
  // "127.0.0.1:PORT" with the port of the running controller.
  const std::string& tcp_address() const { return tcp_address_; }
  const std::string& socket_path() const { return socket_path_; }
  const std::string& data_dir() const { return data_dir_; }
  // The current (or last) controller process; Start() must have created one.
  ChildProcess& process() { return *process_; }
  // Its stderr so far, "" before any start: for failure messages.
  std::string Stderr() const {
    return process_ == nullptr ? "" : process_->ReadStderr();
  }

 private:
  const std::string dir_;
  const std::string socket_path_;
  const std::string data_dir_;
  int starts_ = 0;
  std::string tcp_address_;
  std::unique_ptr<ChildProcess> process_;
};

// Our environment without `name`, as "K=V" entries: tests must not depend
// on a PYCTL_CONTROLLER the developer happens to have set.
std::vector<std::string> EnvironmentWithout(absl::string_view name);

// Runs pyctl with `args` in `working_dir`. PYCTL_CONTROLLER is unset unless
// `controller_env` gives its value. Fails the test if pyctl cannot start.
ProcessResult RunPyctl(const std::vector<std::string>& args,
                       const std::string& working_dir,
                       std::optional<std::string> controller_env = {});

// Starts the controller binary with `args`, for tests of its own flags and
// failures, plus --secrets-key-file DIR/secrets.key unless `args` name one
// (a test controller never touches /etc). Output files are
// NAME.stdout/stderr in `dir`.
absl::StatusOr<std::unique_ptr<ChildProcess>> StartControllerProcess(
    const std::vector<std::string>& args, const std::string& dir,
    const std::string& name);

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_INTEGRATION_CONTROLLER_HARNESS_H_
