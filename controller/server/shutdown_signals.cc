#include "controller/server/shutdown_signals.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace pyservice::controller {
namespace {

sigset_t ShutdownSignalSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void BlockShutdownSignals() {
  signal(SIGPIPE, SIG_IGN);
  const sigset_t set = ShutdownSignalSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForShutdownSignal() {
  const sigset_t set = ShutdownSignalSet();
  int signal_number = 0;
  // sigwait returns an error number rather than setting errno; EINTR is not
  // among them on Linux, but looping costs nothing.
  while (sigwait(&set, &signal_number) != 0) {
  }
  return signal_number;
}

void ExitOnSecondShutdownSignal() {
  std::thread([] { _exit(128 + WaitForShutdownSignal()); }).detach();
}

}  // namespace pyservice::controller
