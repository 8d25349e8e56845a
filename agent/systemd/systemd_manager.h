// What the agent needs from systemd, as an interface: the real one talks to
// PID 1 over D-Bus (dbus_systemd_manager.h), tests use
// tests/testing/fake_systemd_manager.h.
//
// Contract for implementations:
//  * every call is synchronous: a job-creating call (Start/Stop/Restart)
//    returns once systemd reports the job finished (JobRemoved), with OK only
//    for result "done"; "failed" and "dependency" map to FAILED_PRECONDITION,
//    "timeout" to DEADLINE_EXCEEDED, "canceled" to ABORTED, with the unit
//    named; a job still running after the call's timeout is
//    DEADLINE_EXCEEDED too (the job stays queued in systemd);
//  * errors systemd itself returns: NOT_FOUND for a unit file that does not
//    exist (Enable/DisableUnitFiles) or a unit that is not loaded (StopUnit
//    of a unit systemd does not know), INVALID_ARGUMENT for a malformed unit
//    name, UNAVAILABLE when systemd cannot be reached;
//  * unit names are full names ("hello-web.service");
//  * safe to call from several threads.
#ifndef PYSERVICE_AGENT_SYSTEMD_SYSTEMD_MANAGER_H_
#define PYSERVICE_AGENT_SYSTEMD_SYSTEMD_MANAGER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pyservice::agent {

// A unit's state as systemd reports it (org.freedesktop.systemd1.Unit).
struct UnitState {
  std::string name;
  std::string load_state;    // "loaded", "not-found", "masked", ...
  std::string active_state;  // "active", "inactive", "failed", "activating", ...
  std::string sub_state;     // "running", "dead", "exited", "waiting", ...
  // When the unit last entered "active" (ActiveEnterTimestamp); InfinitePast
  // when never. Verify uses it to tell "active for 10 s" from "restarted".
  absl::Time active_enter_time = absl::InfinitePast();
  // For services: restarts by Restart= since the unit was last started
  // (NRestarts); a crash-looping service counts up here.
  uint32_t restarts = 0;
  // For services: the main process's PID (MainPID); 0 when none runs.
  uint32_t main_pid = 0;
  // Whether the unit file is enabled (UnitFileState: "enabled", "disabled",
  // "masked", ...); empty when not known.
  std::string unit_file_state;
  // For services: how the last run ended (Result: "success", "exit-code",
  // "signal", "timeout", ...; systemd says "success" also before any run),
  // the main process's exit status (ExecMainStatus), and when the main
  // process last started (ExecMainStartTimestamp; InfinitePast: never). A
  // timer's service is judged by these between its runs.
  std::string result;
  int32_t exec_main_status = 0;
  absl::Time exec_main_start_time = absl::InfinitePast();
};

// A watch started by SystemdManager::WatchUnits; destroying it ends the
// watch.
class UnitWatch {
 public:
  virtual ~UnitWatch() = default;
};

// Called with a watched unit's new state: `name`, `active_state` and
// `sub_state` are set (and `load_state` when the change carries it); the
// other fields keep their defaults.
using UnitChangeCallback = std::function<void(const UnitState& state)>;

class SystemdManager {
 public:
  virtual ~SystemdManager() = default;

  // Manager.Reload: re-reads unit files after they were written.
  virtual absl::Status Reload() = 0;
  // Manager.StartUnit / StopUnit / RestartUnit with mode "replace", waiting
  // for the job to finish (at most `timeout`). Start and Restart are
  // deliberate: they first clear a failed state and the start rate limit
  // (Manager.ResetFailedUnit, as `systemctl reset-failed`), so a unit that
  // crash-looped or was restarted often just before still starts.
  virtual absl::Status StartUnit(const std::string& unit, absl::Duration timeout) = 0;
  virtual absl::Status StopUnit(const std::string& unit, absl::Duration timeout) = 0;
  virtual absl::Status RestartUnit(const std::string& unit, absl::Duration timeout) = 0;
  // Manager.EnableUnitFiles / DisableUnitFiles (runtime=false, force=true).
  virtual absl::Status EnableUnitFiles(const std::vector<std::string>& units) = 0;
  virtual absl::Status DisableUnitFiles(const std::vector<std::string>& units) = 0;
  // The unit's current state; a unit systemd does not know is load_state
  // "not-found", not an error.
  virtual absl::StatusOr<UnitState> GetUnitState(const std::string& unit) = 0;
  // The last `lines` journal lines of `unit`, oldest first, for failure
  // reports.
  virtual absl::StatusOr<std::vector<std::string>> JournalTail(const std::string& unit,
                                                               int lines) = 0;

  // Pushes every change of `units`' ActiveState or SubState to `on_change`,
  // as systemd signals it (PropertiesChanged of org.freedesktop.systemd1.Unit
  // on each unit's object path), not by polling. Contract:
  //  * changes after WatchUnits returns are reported; for the state before,
  //    call GetUnitState *after* WatchUnits (then nothing falls in between);
  //  * a unit need not be loaded or even exist yet: its changes are
  //    reported once systemd loads it;
  //  * `on_change` runs on a thread of the manager (the D-Bus event loop),
  //    possibly concurrently for different watches; it must return quickly
  //    and must not call the manager nor destroy its own watch;
  //  * once the returned UnitWatch is destroyed, `on_change` is no longer
  //    running and will not be called again. Destroy every watch before the
  //    manager.
  // Errors: UNAVAILABLE when the bus cannot register the watch.
  virtual absl::StatusOr<std::unique_ptr<UnitWatch>> WatchUnits(
      const std::vector<std::string>& units, UnitChangeCallback on_change) = 0;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_SYSTEMD_SYSTEMD_MANAGER_H_
