// Running a child process to completion and collecting its output. Used for
// the few things that have no library API (useradd, python -m venv) and by
// tests that drive the real binaries. Arguments go straight to execve: no
// shell, so nothing is ever re-parsed or word-split.
#ifndef PYSERVICE_COMMON_PROCESS_SUBPROCESS_H_
#define PYSERVICE_COMMON_PROCESS_SUBPROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

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
};

struct ProcessResult {
  int exit_code = 0;    // meaningful when term_signal == 0
  int term_signal = 0;  // the signal that killed the child, else 0
  std::string stdout_text;
  std::string stderr_text;

  bool Succeeded() const { return term_signal == 0 && exit_code == 0; }
  // "exit status 2" / "killed by signal 9", for messages.
  std::string Describe() const;
};

// Runs the process and waits for it. An error status only when it could not
// be started (e.g. NOT_FOUND for a missing program); a non-zero exit is a
// result, for the caller to judge.
absl::StatusOr<ProcessResult> RunProcess(const ProcessOptions& options);

}  // namespace pyservice

#endif  // PYSERVICE_COMMON_PROCESS_SUBPROCESS_H_
