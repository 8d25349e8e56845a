// SIGTERM/SIGINT as an ordinary event a thread waits for, not a handler.
//
// Why: a signal handler may only call async-signal-safe functions, and a
// graceful stop (grpc::Server::Shutdown) blocks and takes locks. So the stop
// signals are blocked in every thread and one thread takes them with
// sigwait(2), then stops the server like any other code would. The mask is
// inherited by threads created later, which is why BlockShutdownSignals()
// must run first thing in main, before gRPC or anything else starts threads.
#ifndef PYSERVICE_CONTROLLER_SERVER_SHUTDOWN_SIGNALS_H_
#define PYSERVICE_CONTROLLER_SERVER_SHUTDOWN_SIGNALS_H_

namespace pyservice::controller {

// Blocks SIGTERM and SIGINT in the calling thread (and so in every thread it
// creates from now on) and ignores SIGPIPE: a peer that hangs up must cost a
// failed write, never the process.
void BlockShutdownSignals();

// Waits until SIGTERM or SIGINT arrives and returns its number. Requires
// BlockShutdownSignals() first.
int WaitForShutdownSignal();

// After the first stop signal: a second one ends the process at once with
// status 128+signal, for an operator who does not want to wait out the
// graceful stop. Starts a detached thread.
void ExitOnSecondShutdownSignal();

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_SERVER_SHUTDOWN_SIGNALS_H_
