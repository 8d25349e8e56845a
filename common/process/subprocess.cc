#include "common/process/subprocess.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace pyservice {
namespace {

absl::Status ErrnoStatus(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Pipes are created close-on-exec so a child never inherits the pipes of a
// sibling started concurrently from another thread.
absl::Status MakePipe(int fds[2]) {
  if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe2");
  return absl::OkStatus();
}

// A child that exits without reading its stdin would kill us with SIGPIPE;
// block it on this thread for the write and swallow the pending signal, so
// the caller's signal handling is left as it was.
ssize_t WriteWithoutSigpipe(int fd, absl::string_view data) {
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  const ssize_t n = write(fd, data.data(), data.size());
  if (n < 0 && errno == EPIPE) {
    const timespec no_wait = {0, 0};
    sigtimedwait(&pipe_set, nullptr, &no_wait);
  }
  const int saved_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  errno = saved_errno;
  return n;
}

// How often `canceled` is asked while a child runs.
constexpr absl::Duration kCancelPollInterval = absl::Milliseconds(50);
// How often a child's exit is looked for when pidfd_open is unavailable.
constexpr absl::Duration kExitPollInterval = absl::Milliseconds(50);

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// Whether `pid` has exited, leaving it unreaped: while it is a zombie its
// id still names its process group, so the group can be killed safely.
bool HasExited(pid_t pid) {
  siginfo_t info = {};
  return waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid;
}

int PollTimeoutMs(absl::Time now, absl::Time wake) {
  if (wake == absl::InfiniteFuture()) return -1;
  if (wake <= now) return 0;
  return static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(wake - now, absl::Milliseconds(1))));
}

// Feeds stdin and drains stdout/stderr together with poll(2), so a child
// that writes a lot before reading its input cannot deadlock with us, until
// the child has exited and its pipes are closed. Enforces the deadline and
// cancellation on the child's process group.
void Supervise(pid_t pid, int in_fd, int out_fd, int err_fd, absl::string_view input,
               const ProcessOptions& options, ProcessResult& result) {
  size_t written = 0;
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  int exit_fd = PidfdOpen(pid);
  const bool have_pidfd = exit_fd >= 0;
  const absl::Time deadline = options.timeout == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : absl::Now() + options.timeout;
  absl::Time kill_at = absl::InfiniteFuture();  // SIGKILL after the SIGTERM
  absl::Time drain_until = absl::InfiniteFuture();
  bool exited = false;
  const auto interrupt = [&](bool& reason) {
    reason = true;
    kill(-pid, SIGTERM);
    kill_at = absl::Now() + options.kill_grace;
  };
  char buffer[16384];
  while (in_fd >= 0 || out_fd >= 0 || err_fd >= 0 || !exited) {
    absl::Time now = absl::Now();
    const bool interrupted = result.timed_out || result.canceled;
    if (!interrupted && now >= deadline) {
      result.timeout = options.timeout;
      interrupt(result.timed_out);
    } else if (!interrupted && options.canceled && options.canceled()) {
      interrupt(result.canceled);
    }
    if (now >= kill_at) {
      kill(-pid, SIGKILL);
      kill_at = absl::InfiniteFuture();
    }
    if (!exited && (!have_pidfd || exit_fd < 0) && HasExited(pid)) {
      exited = true;
      // Whatever it left in its group goes with it; what still holds its
      // pipes from outside the group gets kill_grace to let go.
      kill(-pid, SIGKILL);
      drain_until = now + options.kill_grace;
    }
    if (exited && now >= drain_until) break;
    if (exited && in_fd < 0 && out_fd < 0 && err_fd < 0) break;

    absl::Time wake = std::min({kill_at, drain_until});
    if (!result.timed_out && !result.canceled) {
      wake = std::min(wake, deadline);
      if (options.canceled) wake = std::min(wake, now + kCancelPollInterval);
    }
    if (!exited && !have_pidfd) wake = std::min(wake, now + kExitPollInterval);
    pollfd fds[4] = {{in_fd, POLLOUT, 0},
                     {out_fd, POLLIN, 0},
                     {err_fd, POLLIN, 0},
                     {exit_fd, POLLIN, 0}};
    if (poll(fds, 4, PollTimeoutMs(now, wake)) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (exit_fd >= 0 && (fds[3].revents & (POLLIN | POLLERR | POLLHUP))) {
      close(exit_fd);
      exit_fd = -1;  // HasExited confirms it on the next round
    }
    if (in_fd >= 0 && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t n = WriteWithoutSigpipe(in_fd, input.substr(written));
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 && errno != EINTR && errno != EAGAIN) written = input.size();
      if (written == input.size()) {
        close(in_fd);
        in_fd = -1;
      }
    }
    int* readers[2] = {&out_fd, &err_fd};
    std::string* sinks[2] = {&result.stdout_text, &result.stderr_text};
    for (int i = 0; i < 2; ++i) {
      if (*readers[i] < 0 || !(fds[i + 1].revents & (POLLIN | POLLERR | POLLHUP))) {
        continue;
      }
      const ssize_t n = read(*readers[i], buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(*readers[i]);
        *readers[i] = -1;
      }
    }
  }
  for (int fd : {in_fd, out_fd, err_fd, exit_fd}) {
    if (fd >= 0) close(fd);
  }
}

}  // namespace

std::string ProcessResult::Describe() const {
  if (timed_out) return absl::StrCat("timed out after ", absl::FormatDuration(timeout));
  if (canceled) return "canceled";
  if (term_signal != 0) return absl::StrCat("killed by signal ", term_signal);
  return absl::StrCat("exit status ", exit_code);
}

absl::Status InterruptionStatus(const ProcessResult& result, absl::string_view what) {
  if (result.timed_out) {
    return absl::DeadlineExceededError(absl::StrCat(what, " ", result.Describe()));
  }
  if (result.canceled) return absl::AbortedError(absl::StrCat(what, " canceled"));
  return absl::OkStatus();
}

absl::StatusOr<ProcessResult> RunProcess(const ProcessOptions& options) {
  if (options.argv.empty()) {
    return absl::InvalidArgumentError("RunProcess: empty argv");
  }
  int in[2], out[2], err[2], exec_error[2];
  if (auto s = MakePipe(in); !s.ok()) return s;
  if (auto s = MakePipe(out); !s.ok()) return s;
  if (auto s = MakePipe(err); !s.ok()) return s;
  if (auto s = MakePipe(exec_error); !s.ok()) return s;

  // Everything the child needs is built before fork: after fork in a
  // threaded program only async-signal-safe calls are allowed.
  std::vector<char*> argv;
  for (const std::string& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (options.env) {
    for (const std::string& entry : *options.env) envp.push_back(const_cast<char*>(entry.c_str()));
    envp.push_back(nullptr);
  }

  const pid_t pid = fork();
  if (pid < 0) return ErrnoStatus("fork");
  if (pid == 0) {
    // Its own process group, so a deadline kills everything it started.
    setpgid(0, 0);
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    signal(SIGPIPE, SIG_DFL);
    // Group before user: after setuid we could no longer change groups.
    if (options.run_as &&
        (setgroups(0, nullptr) != 0 || setgid(options.run_as->gid) != 0 ||
         setuid(options.run_as->uid) != 0)) {
      const int e = errno;
      (void)!write(exec_error[1], &e, sizeof(e));
      _exit(127);
    }
    if (!options.working_dir.empty() && chdir(options.working_dir.c_str()) != 0) {
      const int e = errno;
      (void)!write(exec_error[1], &e, sizeof(e));
      _exit(127);
    }
    if (options.env) {
      execvpe(argv[0], argv.data(), envp.data());
    } else {
      execvp(argv[0], argv.data());
    }
    const int e = errno;
    (void)!write(exec_error[1], &e, sizeof(e));
    _exit(127);
  }
  // Also here, so the group exists before we could ever signal it (the
  // child may not have run yet); fails harmlessly once it has exec'd.
  setpgid(pid, pid);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  close(exec_error[1]);

  // The exec-error pipe closes on a successful exec (O_CLOEXEC) and carries
  // errno otherwise, which tells "could not start" from "exited 127".
  int child_errno = 0;
  const ssize_t n = read(exec_error[0], &child_errno, sizeof(child_errno));
  close(exec_error[0]);

  ProcessResult result;
  Supervise(pid, in[1], out[0], err[0], n > 0 ? absl::string_view() : options.stdin_text,
            options, result);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n > 0) {
    const std::string what = absl::StrCat("cannot run ", options.argv[0], ": ",
                                          std::strerror(child_errno));
    if (child_errno == ENOENT) return absl::NotFoundError(what);
    if (child_errno == EACCES) return absl::PermissionDeniedError(what);
    return absl::InternalError(what);
  }
  if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  } else {
    result.exit_code = WEXITSTATUS(status);
  }
  return result;
}

}  // namespace pyservice
