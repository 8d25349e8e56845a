// SystemdManager over systemd's D-Bus API (org.freedesktop.systemd1 on the
// system bus), with sdbus-c++ 1.2.
//
// Why it is built this way:
//  * One connection whose event loop runs on a background thread: systemd
//    reports a job's end only as the JobRemoved signal, so something must be
//    reading signals while a caller waits. sdbus-c++ routes the replies of
//    calls made on other threads through that loop, so calls from several
//    threads are safe.
//  * Subscribe() and the JobRemoved handler are set up once, in Connect(),
//    before any job is started: a job can finish before StartUnit's reply
//    even arrives, and a signal missed then would leave the caller waiting
//    for nothing.
//  * sdbus-c++ reports every failure by throwing sdbus::Error; this file is
//    the boundary where that becomes absl::Status, with the D-Bus method and
//    the unit named in the message.
//  * The journal has no D-Bus API: JournalTail runs journalctl.
//  * WatchUnits adds one bus match per unit — PropertiesChanged from
//    systemd on that unit's object path, for the Unit interface only — so
//    the bus delivers nothing about the host's other units. The object path
//    is computed from the name (systemd's own escaping), which also works
//    for a unit that is not loaded yet. systemd sends unit signals only to
//    subscribed clients; Connect() has subscribed already.
//  * sdbus-c++ runs match callbacks with its connection lock held and
//    takes that lock to remove a match, which is what guarantees that no
//    callback runs after a watch is destroyed.
#ifndef PYSERVICE_AGENT_SYSTEMD_DBUS_SYSTEMD_MANAGER_H_
#define PYSERVICE_AGENT_SYSTEMD_DBUS_SYSTEMD_MANAGER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/systemd/systemd_manager.h"

namespace sdbus {
class IConnection;
class IProxy;
}  // namespace sdbus

namespace pyservice::agent {

class DbusSystemdManager final : public SystemdManager {
 public:
  // Connects to the system bus and subscribes to systemd's job signals.
  // UNAVAILABLE when there is no system bus or no systemd on it (e.g. in a
  // container without systemd as PID 1).
  static absl::StatusOr<std::unique_ptr<DbusSystemdManager>> Connect();

  DbusSystemdManager(const DbusSystemdManager&) = delete;
  DbusSystemdManager& operator=(const DbusSystemdManager&) = delete;
  // Stops the event loop; no call may be in progress.
  ~DbusSystemdManager() override;

  absl::Status Reload() override;
  absl::Status StartUnit(const std::string& unit, absl::Duration timeout) override;
  absl::Status StopUnit(const std::string& unit, absl::Duration timeout) override;
  absl::Status RestartUnit(const std::string& unit, absl::Duration timeout) override;
  absl::Status EnableUnitFiles(const std::vector<std::string>& units) override;
  absl::Status DisableUnitFiles(const std::vector<std::string>& units) override;
  absl::StatusOr<UnitState> GetUnitState(const std::string& unit) override;
  absl::StatusOr<std::vector<std::string>> JournalTail(const std::string& unit,
                                                       int lines) override;
  absl::StatusOr<std::unique_ptr<UnitWatch>> WatchUnits(const std::vector<std::string>& units,
                                                        UnitChangeCallback on_change) override;

  // systemd's object path of a unit: /org/freedesktop/systemd1/unit/ plus
  // the name with every byte outside [A-Za-z0-9] (and a leading digit)
  // written as _XX (sd_bus_path_encode).
  static std::string UnitObjectPath(const std::string& unit);

 private:
  DbusSystemdManager(std::unique_ptr<sdbus::IConnection> connection,
                     std::unique_ptr<sdbus::IProxy> manager);

  // Calls Manager.`method`(unit, "replace") and waits for the job's
  // JobRemoved, mapping its result to a status.
  absl::Status RunJob(const std::string& method, const std::string& unit, absl::Duration timeout);
  // Runs on the event loop thread for every job systemd finishes.
  void OnJobRemoved(const std::string& job, const std::string& result) ABSL_LOCKS_EXCLUDED(mu_);
  // Forgets finished jobs nobody will ask for; see finished_jobs_.
  void PruneFinishedJobs() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Declared in this order so the proxy, which refers to the connection, is
  // destroyed first.
  std::unique_ptr<sdbus::IConnection> connection_;
  std::unique_ptr<sdbus::IProxy> manager_;

  absl::Mutex mu_;
  // Job-creating calls whose reply (the job path) has not arrived yet.
  // While there are any, every finished job is recorded, because one of them
  // may be the job of such a call, finished before its reply arrived.
  int calls_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  // Jobs a caller is waiting for.
  absl::flat_hash_set<std::string> awaited_jobs_ ABSL_GUARDED_BY(mu_);
  // Job path -> JobRemoved result ("done", "failed", ...). Holds only jobs
  // that are awaited or that finished while a call was in flight; pruned
  // when no call is in flight, so systemd's own jobs do not pile up.
  absl::flat_hash_map<std::string, std::string> finished_jobs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_SYSTEMD_DBUS_SYSTEMD_MANAGER_H_
