// systemd_probe: drives DbusSystemdManager through a scripted sequence, for
// the e2e tests. It runs *inside* a test host (the outer machine's PID 1 is
// not systemd), and prints one line per step:
//
//   STEP <TAB> STATUS_CODE <TAB> DETAIL
//
// Steps (one command-line argument each):
//   reload
//   start:UNIT[:TIMEOUT_MS]  stop:UNIT[:TIMEOUT_MS]  restart:UNIT[:TIMEOUT_MS]
//   enable:UNIT[,UNIT...]    disable:UNIT[,UNIT...]
//   state:UNIT    DETAIL = "load=L active=A sub=S entered_usec=N restarts=R"
//   journal:UNIT:LINES    DETAIL = the lines joined with " \n " (literal)
//   startall:UNIT,UNIT,...  starts them concurrently, one line per unit
//   sleep:MS
//   watch:UNIT[,UNIT...]   WatchUnits; from then on every change is printed
//                          as it arrives, from the D-Bus thread, as
//                          change <TAB> OK <TAB> unit=U load=L active=A sub=S
//   waitchange:UNIT:ACTIVE:TIMEOUT_MS  until a change of UNIT to ACTIVE was
//                          printed (since the watch began); DEADLINE_EXCEEDED
//                          if none came in time
//   unwatch                destroys the watch: no change line follows it
//   sh:COMMAND             /bin/sh -c COMMAND (the rest of the argument,
//                          colons included); DETAIL = "exit=N"
//
// Exit status: 0 when every step ran (whatever their statuses), 1 when
// Connect failed (its status is printed as step "connect"), 2 for a bad
// script.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/systemd/dbus_systemd_manager.h"
#include "common/process/subprocess.h"

namespace pyservice {
namespace {

constexpr absl::Duration kDefaultJobTimeout = absl::Seconds(30);

// Lines come from the main thread and, for changes, the D-Bus thread.
absl::Mutex print_mu;

void Print(const std::string& step, const absl::Status& status, const std::string& detail = "") {
  absl::MutexLock lock(&print_mu);
  std::printf("%s\t%s\t%s\n", step.c_str(), absl::StatusCodeToString(status.code()).c_str(),
              status.ok() ? detail.c_str() : std::string(status.message()).c_str());
  std::fflush(stdout);
}

std::string DescribeState(const agent::UnitState& state) {
  const int64_t entered = state.active_enter_time == absl::InfinitePast()
                              ? 0
                              : absl::ToUnixMicros(state.active_enter_time);
  return absl::StrCat("load=", state.load_state, " active=", state.active_state,
                      " sub=", state.sub_state, " entered_usec=", entered,
                      " restarts=", state.restarts);
}

// The watch of the watch: step and what it has reported.
struct Watching {
  std::unique_ptr<agent::UnitWatch> watch;
  absl::Mutex mu;
  // "UNIT ACTIVE" of every change so far.
  std::vector<std::string> seen ABSL_GUARDED_BY(mu);
};

// Runs one step; false for a malformed one.
bool RunStep(agent::DbusSystemdManager& systemd, Watching& watching, const std::string& step) {
  if (absl::StartsWith(step, "sh:")) {
    ProcessOptions shell;
    shell.argv = {"/bin/sh", "-c", step.substr(3)};
    absl::StatusOr<ProcessResult> result = RunProcess(shell);
    Print(step, result.status(), result.ok() ? absl::StrCat("exit=", result->exit_code) : "");
    return true;
  }
  std::vector<std::string> parts = absl::StrSplit(step, ':');
  const std::string& verb = parts[0];
  if (verb == "reload" && parts.size() == 1) {
    Print(step, systemd.Reload());
    return true;
  }
  if ((verb == "start" || verb == "stop" || verb == "restart") &&
      (parts.size() == 2 || parts.size() == 3)) {
    absl::Duration timeout = kDefaultJobTimeout;
    int timeout_ms = 0;
    if (parts.size() == 3) {
      if (!absl::SimpleAtoi(parts[2], &timeout_ms)) return false;
      timeout = absl::Milliseconds(timeout_ms);
    }
    Print(step, verb == "start"  ? systemd.StartUnit(parts[1], timeout)
                : verb == "stop" ? systemd.StopUnit(parts[1], timeout)
                                 : systemd.RestartUnit(parts[1], timeout));
    return true;
  }
  if ((verb == "enable" || verb == "disable") && parts.size() == 2) {
    std::vector<std::string> units = absl::StrSplit(parts[1], ',');
    Print(step, verb == "enable" ? systemd.EnableUnitFiles(units) : systemd.DisableUnitFiles(units));
    return true;
  }
  if (verb == "startall" && parts.size() == 2) {
    // Every unit started from its own thread at once: the manager is
    // documented to be safe to call from several threads.
    std::vector<std::string> units = absl::StrSplit(parts[1], ',');
    std::vector<absl::Status> results(units.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < units.size(); ++i) {
      threads.emplace_back([&, i] { results[i] = systemd.StartUnit(units[i], kDefaultJobTimeout); });
    }
    for (std::thread& thread : threads) thread.join();
    for (size_t i = 0; i < units.size(); ++i) Print(absl::StrCat("start:", units[i]), results[i]);
    return true;
  }
  if (verb == "state" && parts.size() == 2) {
    absl::StatusOr<agent::UnitState> state = systemd.GetUnitState(parts[1]);
    Print(step, state.status(), state.ok() ? DescribeState(*state) : "");
    return true;
  }
  int number = 0;
  if (verb == "journal" && parts.size() == 3 && absl::SimpleAtoi(parts[2], &number)) {
    absl::StatusOr<std::vector<std::string>> lines = systemd.JournalTail(parts[1], number);
    Print(step, lines.status(), lines.ok() ? absl::StrJoin(*lines, " \\n ") : "");
    return true;
  }
  if (verb == "watch" && parts.size() == 2) {
    std::vector<std::string> units = absl::StrSplit(parts[1], ',');
    watching.watch.reset();
    absl::StatusOr<std::unique_ptr<agent::UnitWatch>> watch =
        systemd.WatchUnits(units, [&watching](const agent::UnitState& state) {
          {
            absl::MutexLock lock(&watching.mu);
            watching.seen.push_back(absl::StrCat(state.name, " ", state.active_state));
          }
          Print("change", absl::OkStatus(),
                absl::StrCat("unit=", state.name, " load=", state.load_state,
                             " active=", state.active_state, " sub=", state.sub_state));
        });
    if (watch.ok()) watching.watch = *std::move(watch);
    Print(step, watch.status());
    return true;
  }
  if (verb == "waitchange" && parts.size() == 4 && absl::SimpleAtoi(parts[3], &number)) {
    const std::string wanted = absl::StrCat(parts[1], " ", parts[2]);
    bool found = false;
    {
      absl::MutexLock lock(&watching.mu);
      auto seen = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(watching.mu) {
        return std::find(watching.seen.begin(), watching.seen.end(), wanted) !=
               watching.seen.end();
      };
      found = watching.mu.AwaitWithTimeout(absl::Condition(&seen), absl::Milliseconds(number));
    }
    Print(step, found ? absl::OkStatus()
                      : absl::DeadlineExceededError(absl::StrCat("no change to ", wanted)));
    return true;
  }
  if (verb == "unwatch" && parts.size() == 1) {
    watching.watch.reset();
    Print(step, absl::OkStatus());
    return true;
  }
  if (verb == "sleep" && parts.size() == 2 && absl::SimpleAtoi(parts[1], &number)) {
    absl::SleepFor(absl::Milliseconds(number));
    Print(step, absl::OkStatus());
    return true;
  }
  return false;
}

int Main(int argc, char** argv) {
  absl::StatusOr<std::unique_ptr<agent::DbusSystemdManager>> systemd =
      agent::DbusSystemdManager::Connect();
  if (!systemd.ok()) {
    Print("connect", systemd.status());
    return 1;
  }
  Watching watching;
  for (int i = 1; i < argc; ++i) {
    if (!RunStep(**systemd, watching, argv[i])) {
      std::fprintf(stderr, "systemd_probe: bad step \"%s\"\n", argv[i]);
      return 2;
    }
  }
  watching.watch.reset();  // before the manager
  return 0;
}

}  // namespace
}  // namespace pyservice

int main(int argc, char** argv) { return pyservice::Main(argc, argv); }
