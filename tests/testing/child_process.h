// A long-running program under test (the controller, later the agent) as a
// real child process: started with its stdout and stderr going to files,
// watched for a log line, signalled, and reaped.
//
// Files rather than pipes: nothing has to drain them while the test does
// other work, and after a failure the whole output is there to print.
// The child gets PR_SET_PDEATHSIG(SIGKILL), so a crashed test binary never
// leaves servers behind.
#ifndef PYSERVICE_TESTS_TESTING_CHILD_PROCESS_H_
#define PYSERVICE_TESTS_TESTING_CHILD_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pyservice::testing {

struct ChildProcessOptions {
  std::vector<std::string> argv;  // argv[0] is a path
  // Full environment ("K=V" entries); nullopt inherits ours.
  std::optional<std::vector<std::string>> env;
  // Existing directory for the output files NAME.stdout and NAME.stderr.
  std::string output_dir;
  // NAME above; distinct per process sharing an output_dir.
  std::string name = "child";
  // Descriptors the child gets as fds 3, 4, ... (Chromium's
  // --remote-debugging-pipe); the caller's copies stay open.
  std::vector<int> extra_fds;
};

struct ExitStatus {
  int exit_code = 0;    // meaningful when term_signal == 0
  int term_signal = 0;  // the signal that killed the child, else 0
  // "exit status 2" / "killed by signal 9".
  std::string Describe() const;
};

class ChildProcess {
 public:
  // Starts the process; stdin is /dev/null. An error only if it could not be
  // started at all (exec failures show up as exit status 127).
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const ChildProcessOptions& options);

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills (SIGKILL) and reaps the child if it is still running.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }
  // Everything written so far.
  std::string ReadStdout() const;
  std::string ReadStderr() const;

  // Waits until a complete line of stderr contains `needle` and returns that
  // line (without the newline). FAILED_PRECONDITION if the child exits
  // first, DEADLINE_EXCEEDED after `timeout`; both carry the stderr so far.
  absl::StatusOr<std::string> WaitForStderrLine(absl::string_view needle,
                                                absl::Duration timeout);

  // kill(2). FAILED_PRECONDITION once the child has been reaped.
  absl::Status Signal(int signal_number);

  // Waits for the child to end and reaps it. DEADLINE_EXCEEDED after
  // `timeout` (the child keeps running). Returns the same status again on
  // later calls.
  absl::StatusOr<ExitStatus> WaitForExit(absl::Duration timeout);

 private:
  ChildProcess(pid_t pid, std::string stdout_path, std::string stderr_path)
      : pid_(pid),
        stdout_path_(std::move(stdout_path)),
        stderr_path_(std::move(stderr_path)) {}

  // Reaps the child if it has ended, without waiting.
  bool Poll();

  const pid_t pid_;
  const std::string stdout_path_;
  const std::string stderr_path_;
  std::optional<ExitStatus> exit_status_;
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_CHILD_PROCESS_H_
