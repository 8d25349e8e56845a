// Records command lines instead of running them; `python3 -m venv [...] DIR`
// creates DIR/bin so later steps find a venv. A command whose argv contains
// a configured word fails, as a broken build does; one whose argv contains
// the hang word hangs, as a stuck build does, until it is killed through its
// cancellation hook (ProcessOptions::canceled). Safe to call from several
// threads (the daemon deploys apps in parallel).
#ifndef PYSERVICE_TESTS_TESTING_FAKE_PROCESS_RUNNER_H_
#define PYSERVICE_TESTS_TESTING_FAKE_PROCESS_RUNNER_H_

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "agent/host/process_runner.h"

namespace pyservice::testing {

class FakeProcessRunner final : public agent::ProcessRunner {
 public:
  absl::StatusOr<ProcessResult> Run(const ProcessOptions& options) override {
    if (Hangs(options)) return HangUntilCanceled(options);
    absl::MutexLock lock(&mu_);
    ProcessResult result;
    for (const std::string& arg : options.argv) {
      if (!fail_on_.empty() && arg == fail_on_) {
        result.exit_code = 1;
        result.stderr_text = "ERROR: Could not find a version that satisfies the requirement\n";
        return result;
      }
    }
    if (options.argv.size() >= 4 && options.argv[1] == "-m" && options.argv[2] == "venv") {
      std::filesystem::create_directories(options.argv.back() + "/bin");
    }
    if (options.argv.size() >= 2 && options.argv[1] == "--version") {
      result.stdout_text = uv_version_output_;
    }
    return result;
  }

  // A command with `argument` in its argv hangs until canceled; "" for none.
  void HangWhenArgumentIs(std::string argument) {
    absl::MutexLock lock(&mu_);
    hang_on_ = std::move(argument);
  }
  // Blocks until a command hangs; false when none did within `timeout`.
  bool WaitUntilHanging(absl::Duration timeout = absl::Seconds(30)) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(
        absl::Condition(+[](int* hanging) { return *hanging > 0; }, &hanging_), timeout);
  }

  // Hanging commands killed through their cancellation hook.
  int killed() const {
    absl::MutexLock lock(&mu_);
    return killed_;
  }

  void FailWhenArgumentIs(std::string argument) {
    absl::MutexLock lock(&mu_);
    fail_on_ = std::move(argument);
  }
  void set_uv_version_output(std::string output) {
    absl::MutexLock lock(&mu_);
    uv_version_output_ = std::move(output);
  }
  std::vector<std::string> commands() const {
    absl::MutexLock lock(&mu_);
    return commands_;
  }
  std::vector<ProcessOptions> runs() const {
    absl::MutexLock lock(&mu_);
    return runs_;
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    commands_.clear();
    runs_.clear();
  }

 private:
  // Records the command; true when it is to hang.
  bool Hangs(const ProcessOptions& options) {
    absl::MutexLock lock(&mu_);
    commands_.push_back(absl::StrJoin(options.argv, " "));
    runs_.push_back(options);
    return !hang_on_.empty() &&
           std::find(options.argv.begin(), options.argv.end(), hang_on_) != options.argv.end();
  }

  // What RunProcess does with a stuck child: kill it when canceled. A real
  // deadline would end it too; here only cancellation does, so a caller
  // that passes none fails the test instead of hanging it.
  absl::StatusOr<ProcessResult> HangUntilCanceled(const ProcessOptions& options) {
    if (!options.canceled) {
      return absl::InternalError(absl::StrCat("fake: ", options.argv[0],
                                              " hangs and nothing can cancel it"));
    }
    {
      absl::MutexLock lock(&mu_);
      ++hanging_;
    }
    while (!options.canceled()) absl::SleepFor(absl::Milliseconds(5));
    absl::MutexLock lock(&mu_);
    --hanging_;
    ++killed_;
    ProcessResult result;
    result.canceled = true;
    result.term_signal = 15;
    return result;
  }

  mutable absl::Mutex mu_;
  std::vector<std::string> commands_ ABSL_GUARDED_BY(mu_);
  std::vector<ProcessOptions> runs_ ABSL_GUARDED_BY(mu_);
  std::string fail_on_ ABSL_GUARDED_BY(mu_);
  std::string hang_on_ ABSL_GUARDED_BY(mu_);
  int hanging_ ABSL_GUARDED_BY(mu_) = 0;
  int killed_ ABSL_GUARDED_BY(mu_) = 0;
  std::string uv_version_output_ ABSL_GUARDED_BY(mu_) = "uv 0.5.1\n";
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_FAKE_PROCESS_RUNNER_H_
