// Records command lines instead of running them; `python3 -m venv [...] DIR`
// creates DIR/bin so later steps find a venv. A command whose argv contains
// a configured word fails, as a broken build does. Safe to call from
// several threads (the daemon deploys apps in parallel).
#ifndef PYSERVICE_TESTS_TESTING_FAKE_PROCESS_RUNNER_H_
#define PYSERVICE_TESTS_TESTING_FAKE_PROCESS_RUNNER_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "agent/host/process_runner.h"

namespace pyservice::testing {

class FakeProcessRunner final : public agent::ProcessRunner {
 public:
  absl::StatusOr<ProcessResult> Run(const ProcessOptions& options) override {
    absl::MutexLock lock(&mu_);
    commands_.push_back(absl::StrJoin(options.argv, " "));
    runs_.push_back(options);
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
  mutable absl::Mutex mu_;
  std::vector<std::string> commands_ ABSL_GUARDED_BY(mu_);
  std::vector<ProcessOptions> runs_ ABSL_GUARDED_BY(mu_);
  std::string fail_on_ ABSL_GUARDED_BY(mu_);
  std::string uv_version_output_ ABSL_GUARDED_BY(mu_) = "uv 0.5.1\n";
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_FAKE_PROCESS_RUNNER_H_
