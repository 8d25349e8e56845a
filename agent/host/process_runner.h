// Child processes (useradd, python -m venv, uv, pip) behind an interface, so
// pipeline tests can check exact command lines without running them.
#ifndef PYSERVICE_AGENT_HOST_PROCESS_RUNNER_H_
#define PYSERVICE_AGENT_HOST_PROCESS_RUNNER_H_

#include "absl/status/statusor.h"
#include "common/process/subprocess.h"

namespace pyservice::agent {

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // Runs to completion (see RunProcess for the contract).
  virtual absl::StatusOr<ProcessResult> Run(const ProcessOptions& options) = 0;
};

// Runs real processes with common/process/subprocess.h.
class SubprocessRunner final : public ProcessRunner {
 public:
  absl::StatusOr<ProcessResult> Run(const ProcessOptions& options) override {
    return RunProcess(options);
  }
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_HOST_PROCESS_RUNNER_H_
