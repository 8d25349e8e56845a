// Running a child process to completion and collecting its output. Used for
// the few things that have no library API (useradd, python -m venv) and by
// tests that drive the real binaries. Arguments go straight to execve: no
// shell, so nothing is ever re-parsed or word-split.
//
// The child leads a process group of its own. On its deadline, or when it is
// canceled, the whole group gets SIGTERM and, `kill_grace` later, SIGKILL;
// when the child exits, whatever it left running in its group is killed too.
// So nothing it started outlives the wait (apart from what leaves the group
// on purpose, with setsid: daemons).
#ifndef PYSERVICE_COMMON_PROCESS_SUBPROCESS_H_
#define PYSERVICE_COMMON_PROCESS_SUBPROCESS_H_

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pyservice {

struct ProcessOptions {
  std::vector<std::string> argv;  // argv[0] is a path or a name on PATH
  // Full environment ("K=V" entries); nullopt inherits ours.
  std::optional<std::vector<std::string>> env;
  // Written to the child's stdin, which is then closed. Secrets go here,
  // never on the command line, where any user can read them in /proc.
  std::string stdin_text;
  std::string working_dir;  // empty: ours
  // Drop to this user and group (supplementary groups cleared) before exec;
  // nullopt: run as we are. Needs root.
  struct Identity {
    uid_t uid;
    gid_t gid;
  };
  std::optional<Identity> run_as;
  // How long the child may run before its group is killed.
  absl::Duration timeout = absl::InfiniteDuration();
  // Asked while the child runs (every few tens of milliseconds); once it
  // returns true the group is killed as on the deadline. Empty: never.
  std::function<bool()> canceled;
  // Between SIGTERM and SIGKILL; also how long output is still read from
  // pipes that something outside the group holds open after the child exits.
  absl::Duration kill_grace = absl::Seconds(5);
};

struct ProcessResult {
  int exit_code = 0;    // meaningful when term_signal == 0
  int term_signal = 0;  // the signal that killed the child, else 0
  std::string stdout_text;
  std::string stderr_text;
  // The child was killed because it ran past `timeout` (recorded here for
  // messages) or because it was canceled.
  bool timed_out = false;
  absl::Duration timeout;
  bool canceled = false;

  bool Succeeded() const {
    return !timed_out && !canceled && term_signal == 0 && exit_code == 0;
  }
  // "exit status 2" / "killed by signal 9" / "timed out after 10m" /
  // "canceled", for messages.
  std::string Describe() const;
};

// DEADLINE_EXCEEDED "WHAT timed out after 10m" or ABORTED "WHAT canceled"
// when the child was killed for either reason, else OK. `what` names the
// command for the operator (e.g. "uv sync --frozen"), never its secrets.
absl::Status InterruptionStatus(const ProcessResult& result, absl::string_view what);

// Runs the process and waits for it. An error status only when it could not
// be started (e.g. NOT_FOUND for a missing program); a non-zero exit, a
// timeout or a cancellation is a result, for the caller to judge.
absl::StatusOr<ProcessResult> RunProcess(const ProcessOptions& options);

}  // namespace pyservice

#endif  // PYSERVICE_COMMON_PROCESS_SUBPROCESS_H_
