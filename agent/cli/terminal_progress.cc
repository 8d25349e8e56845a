#include "agent/cli/terminal_progress.h"

#include <unistd.h>

#include "absl/strings/str_format.h"

namespace pyservice::agent {

TerminalProgress::TerminalProgress(std::FILE* out) : out_(out), color_(isatty(fileno(out)) != 0) {}

void TerminalProgress::Report(const StepProgress& progress) {
  if (progress.state == StepState::kRunning) {
    // On a terminal the running line is replaced by the result line.
    if (color_) {
      absl::FPrintF(out_, "  %-12s ...\r", progress.step);
      std::fflush(out_);
    }
    return;
  }
  const char* color = "";
  if (color_) {
    color = progress.state == StepState::kFailed ? "\033[31m"
            : progress.state == StepState::kDone ? "\033[32m"
                                                 : "\033[2m";
  }
  absl::FPrintF(out_, "%s  %-12s %-9s %8s%s  %s\n", color, progress.step,
                StepStateName(progress.state),
                absl::FormatDuration(absl::Trunc(progress.elapsed, absl::Milliseconds(1))),
                color_ ? "\033[0m" : "", progress.message);
  std::fflush(out_);
}

}  // namespace pyservice::agent
