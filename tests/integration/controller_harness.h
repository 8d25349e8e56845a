// The real pyservice-controller and pyctl binaries, as an operator runs
// them: a controller process on a Unix socket and an ephemeral TCP port
// with its store in a temp dir, and pyctl processes talking to it.
//
// Every RPC needs a caller the access layer knows (docs/SECURITY.md). The
// controller also serves its admin socket, where root (the tests run as
// root) and the controller's own user are admins without a token: pyctl
// goes there unless a test is about another listener, which then uses a
// token made through the admin socket (CreateToken).
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
  // Everything lives under `dir`: run/controller.sock, run/admin.sock,
  // data/, secrets.key and the controller's output files
  // (controller-N.stderr for the N-th start).
  explicit ControllerHarness(std::string dir);

  // Starts the controller with --listen unix:SOCKET --listen 127.0.0.1:0
  // --admin-socket ADMIN --data-dir DATA plus `extra_args`, and waits until
  // it logs both "listening on" lines and the admin socket's.
  absl::Status Start(const std::vector<std::string>& extra_args = {});
  // Sends `signal_number` and waits for the process to end.
  absl::StatusOr<ExitStatus> Stop(int signal_number);

  // "unix:/…/run/controller.sock" (a --listen socket: a token is needed).
  std::string unix_address() const { return "unix:" + socket_path_; }
  // "unix:/…/run/admin.sock": local root is an admin there without a token.
  std::string admin_address() const { return "unix:" + admin_socket_path_; }
  // "127.0.0.1:PORT" with the port of the running controller.
  const std::string& tcp_address() const { return tcp_address_; }
  // "127.0.0.1:PORT" of GET /metrics (--metrics-listen 127.0.0.1:0 unless
  // Start's arguments name another).
  const std::string& metrics_address() const { return metrics_address_; }
  const std::string& socket_path() const { return socket_path_; }
  const std::string& data_dir() const { return data_dir_; }
  // The current (or last) controller process; Start() must have created one.
  ChildProcess& process() { return *process_; }
  // Its stderr so far, "" before any start: for failure messages.
  std::string Stderr() const {
    return process_ == nullptr ? "" : process_->ReadStderr();
  }

  // A new operator token (`pyctl auth create-token NAME --role ROLE`
  // through the admin socket), the token text.
  absl::StatusOr<std::string> CreateToken(const std::string& name,
                                          const std::string& role = "admin");
  // CreateToken, written to a new file DIR/NAME.token with mode 0600 (pyctl
  // refuses others): its path.
  absl::StatusOr<std::string> CreateTokenFile(const std::string& name,
                                              const std::string& role = "admin");
  // A single-use enrollment token for `host` with `labels` ("K=V"), made
  // with `pyctl host enroll-token` through the admin socket.
  absl::StatusOr<std::string> CreateEnrollmentToken(
      const std::string& host, const std::vector<std::string>& labels = {});

 private:
  const std::string dir_;
  const std::string socket_path_;
  const std::string admin_socket_path_;
  const std::string data_dir_;
  int starts_ = 0;
  std::string tcp_address_;
  std::string metrics_address_;
  std::unique_ptr<ChildProcess> process_;
};

// Our environment without `name`, as "K=V" entries: tests must not depend
// on a PYCTL_CONTROLLER the developer happens to have set.
std::vector<std::string> EnvironmentWithout(absl::string_view name);

// Runs pyctl with `args` in `working_dir`. PYCTL_CONTROLLER is unset unless
// `controller_env` gives its value; PYCTL_TOKEN and PYCTL_TOKEN_FILE are
// unset unless `extra_env` ("K=V" entries, added last) sets them. Fails the
// test if pyctl cannot start.
ProcessResult RunPyctl(const std::vector<std::string>& args,
                       const std::string& working_dir,
                       std::optional<std::string> controller_env = {},
                       const std::vector<std::string>& extra_env = {});

// Writes `text` to `path` (replacing it) with mode 0600 from the start.
absl::Status WriteOwnerOnlyFile(const std::string& path, const std::string& text);

// Starts the controller binary with `args`, for tests of its own flags and
// failures, plus --secrets-key-file DIR/secrets.key unless `args` name one
// (a test controller never touches /etc). Output files are
// NAME.stdout/stderr in `dir`.
absl::StatusOr<std::unique_ptr<ChildProcess>> StartControllerProcess(
    const std::vector<std::string>& args, const std::string& dir,
    const std::string& name);

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_INTEGRATION_CONTROLLER_HARNESS_H_
