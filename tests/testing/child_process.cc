#include "tests/testing/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

extern char** environ;

namespace pyservice::testing {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(10);

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// execve wants NUL-terminated arrays of C strings; they are built before
// fork because the child of a threaded parent may only make
// async-signal-safe calls.
std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

std::string ExitStatus::Describe() const {
  if (term_signal != 0) return absl::StrCat("killed by signal ", term_signal);
  return absl::StrCat("exit status ", exit_code);
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const ChildProcessOptions& options) {
  if (options.argv.empty()) {
    return absl::InvalidArgumentError("ChildProcess: empty argv");
  }
  std::string stdout_path =
      absl::StrCat(options.output_dir, "/", options.name, ".stdout");
  std::string stderr_path =
      absl::StrCat(options.output_dir, "/", options.name, ".stderr");
  std::vector<std::string> argv = options.argv;
  std::vector<char*> argv_pointers = CStrings(argv);
  std::vector<std::string> env;
  std::vector<char*> env_pointers;
  if (options.env.has_value()) {
    env = *options.env;
    env_pointers = CStrings(env);
  }
  char** const envp = options.env.has_value() ? env_pointers.data() : environ;

  constexpr size_t kMaxExtraFds = 8;
  if (options.extra_fds.size() > kMaxExtraFds) {
    return absl::InvalidArgumentError("at most 8 extra fds");
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died already
    // The test may block signals (gtest does not, but be safe): the child
    // starts with a clean mask, like a process started from a shell.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int in = open("/dev/null", O_RDONLY);
    const int out =
        open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err =
        open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) _exit(126);
    dup2(in, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    // Moved out of the way first, so fd 3 -> 4 and 4 -> 3 do not clobber
    // (a fixed array: no malloc after fork in a threaded parent).
    int high[kMaxExtraFds];
    for (size_t i = 0; i < options.extra_fds.size(); ++i) {
      high[i] = fcntl(options.extra_fds[i], F_DUPFD, 100);
    }
    for (size_t i = 0; i < options.extra_fds.size(); ++i) {
      if (high[i] < 0 || dup2(high[i], 3 + static_cast<int>(i)) < 0) _exit(126);
    }
    execve(argv_pointers[0], argv_pointers.data(), envp);
    _exit(127);
  }
  return std::unique_ptr<ChildProcess>(
      new ChildProcess(pid, std::move(stdout_path), std::move(stderr_path)));
}

ChildProcess::~ChildProcess() {
  if (exit_status_.has_value()) return;
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

std::string ChildProcess::ReadStdout() const {
  return ReadWholeFile(stdout_path_);
}

std::string ChildProcess::ReadStderr() const {
  return ReadWholeFile(stderr_path_);
}

bool ChildProcess::Poll() {
  if (exit_status_.has_value()) return true;
  int status = 0;
  const pid_t reaped = waitpid(pid_, &status, WNOHANG);
  if (reaped != pid_) return false;
  ExitStatus exit;
  if (WIFSIGNALED(status)) {
    exit.term_signal = WTERMSIG(status);
  } else {
    exit.exit_code = WEXITSTATUS(status);
  }
  exit_status_ = exit;
  return true;
}

absl::StatusOr<std::string> ChildProcess::WaitForStderrLine(
    absl::string_view needle, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    // Read before polling, so lines written just before exiting count.
    const bool exited = Poll();
    const std::string text = ReadStderr();
    const size_t complete = text.rfind('\n');
    if (complete != std::string::npos) {
      for (absl::string_view line :
           absl::StrSplit(absl::string_view(text).substr(0, complete), '\n')) {
        if (absl::StrContains(line, needle)) return std::string(line);
      }
    }
    if (exited) {
      return absl::FailedPreconditionError(absl::StrCat(
          "process ", pid_, " ended (", exit_status_->Describe(),
          ") before logging \"", needle, "\"; its stderr:\n", text));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no \"", needle, "\" in the stderr of process ", pid_, " within ",
          absl::FormatDuration(timeout), "; its stderr:\n", text));
    }
    absl::SleepFor(kPollInterval);
  }
}

absl::Status ChildProcess::Signal(int signal_number) {
  if (exit_status_.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("process ", pid_, " has ended"));
  }
  if (kill(pid_, signal_number) != 0) {
    return absl::InternalError(absl::StrCat("kill: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<ExitStatus> ChildProcess::WaitForExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!Poll()) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("process ", pid_, " still running after ",
                       absl::FormatDuration(timeout)));
    }
    absl::SleepFor(kPollInterval);
  }
  return *exit_status_;
}

}  // namespace pyservice::testing
