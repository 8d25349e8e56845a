// Step progress for a person at a terminal: one line when a step starts and
// one when it ends, with its result, time and notes.
#ifndef PYSERVICE_AGENT_CLI_TERMINAL_PROGRESS_H_
#define PYSERVICE_AGENT_CLI_TERMINAL_PROGRESS_H_

#include <cstdio>

#include "agent/install/deploy.h"

namespace pyservice::agent {

class TerminalProgress final : public ProgressSink {
 public:
  explicit TerminalProgress(std::FILE* out);
  void Report(const StepProgress& progress) override;

 private:
  std::FILE* out_;
  bool color_;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_CLI_TERMINAL_PROGRESS_H_
