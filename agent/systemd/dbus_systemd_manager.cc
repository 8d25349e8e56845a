#include "agent/systemd/dbus_systemd_manager.h"

#include <chrono>
#include <map>
#include <utility>

#include <sdbus-c++/sdbus-c++.h>
#include <spdlog/spdlog.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/process/subprocess.h"

namespace pyservice::agent {
namespace {

constexpr char kSystemd[] = "org.freedesktop.systemd1";
constexpr char kManagerPath[] = "/org/freedesktop/systemd1";
constexpr char kManagerInterface[] = "org.freedesktop.systemd1.Manager";
constexpr char kUnitInterface[] = "org.freedesktop.systemd1.Unit";
constexpr char kServiceInterface[] = "org.freedesktop.systemd1.Service";
constexpr char kPropertiesInterface[] = "org.freedesktop.DBus.Properties";

// A daemon-reload re-reads every unit file; on a big host that takes longer
// than sd-bus's default 25 s method timeout.
constexpr std::chrono::seconds kReloadTimeout{120};

using UnitFileChange = sdbus::Struct<std::string, std::string, std::string>;

// The code says what the caller should do (docs: STYLE.md, "Errors"); the
// message names the method and the unit, plus D-Bus's own error name.
absl::Status DbusErrorToStatus(const sdbus::Error& error, absl::string_view what) {
  const std::string& name = error.getName();
  const std::string message = absl::StrCat(what, ": ", error.getMessage(), " (", name, ")");
  if (name == "org.freedesktop.systemd1.NoSuchUnit" ||
      name == "org.freedesktop.DBus.Error.FileNotFound" ||
      name == "org.freedesktop.systemd1.NoSuchJob") {
    return absl::NotFoundError(message);
  }
  if (name == "org.freedesktop.DBus.Error.InvalidArgs") {
    return absl::InvalidArgumentError(message);
  }
  if (name == "org.freedesktop.DBus.Error.AccessDenied" ||
      name == "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired") {
    return absl::PermissionDeniedError(message);
  }
  if (name == "org.freedesktop.DBus.Error.NoReply" ||
      name == "org.freedesktop.DBus.Error.Timeout" ||
      name == "org.freedesktop.DBus.Error.TimedOut" ||
      name == "org.freedesktop.DBus.Error.Disconnected" ||
      name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
      name == "org.freedesktop.DBus.Error.NoServer" ||
      name == "org.freedesktop.DBus.Error.NameHasNoOwner") {
    return absl::UnavailableError(message);
  }
  // UnitMasked, TransactionIsDestructive, JobTypeNotApplicable,
  // OnlyByDependency, ...: systemd refuses in the unit's current state.
  if (absl::StartsWith(name, "org.freedesktop.systemd1.")) {
    return absl::FailedPreconditionError(message);
  }
  return absl::UnknownError(message);
}

// JobRemoved's result string, per org.freedesktop.systemd1(5).
absl::Status JobResultToStatus(const std::string& result, absl::string_view what) {
  if (result == "done") return absl::OkStatus();
  const std::string message = absl::StrCat(what, ": job ended with result \"", result, "\"");
  if (result == "timeout") return absl::DeadlineExceededError(message);
  // Replaced by a conflicting job queued later: retry from higher up.
  if (result == "canceled") return absl::AbortedError(message);
  // "failed" (the unit failed), "dependency" (a required unit failed),
  // "skipped", "invalid", "assert": the unit must be fixed first.
  if (result == "failed" || result == "dependency" || result == "skipped" ||
      result == "invalid" || result == "assert" || result == "once") {
    return absl::FailedPreconditionError(message);
  }
  return absl::UnknownError(message);
}

template <typename T>
T PropertyOr(const std::map<std::string, sdbus::Variant>& properties, const std::string& name,
             T fallback) {
  auto it = properties.find(name);
  if (it == properties.end() || !it->second.containsValueOfType<T>()) return fallback;
  return it->second.get<T>();
}

constexpr char kUnitPathPrefix[] = "/org/freedesktop/systemd1/unit/";

// The match slots of one WatchUnits call; destroying them removes the
// matches (see the header for why no callback outlives that).
class DbusUnitWatch final : public UnitWatch {
 public:
  std::vector<sdbus::Slot> slots;
};

// One PropertiesChanged(interface, changed, invalidated) of a unit. Runs on
// the event loop thread; a malformed message is dropped, never thrown.
void DispatchUnitChange(const std::string& unit, sdbus::Message& message,
                        const UnitChangeCallback& on_change) {
  std::string interface;
  std::map<std::string, sdbus::Variant> changed;
  try {
    message >> interface >> changed;
  } catch (const sdbus::Error& error) {
    spdlog::warn("PropertiesChanged of {}: cannot read it: {}", unit, error.what());
    return;
  }
  if (interface != kUnitInterface) return;
  // systemd's Unit signals carry every emits-change property at once, so a
  // signal without ActiveState changed nothing the watchers look at.
  if (!changed.count("ActiveState")) return;
  UnitState state;
  state.name = unit;
  state.active_state = PropertyOr<std::string>(changed, "ActiveState", "");
  state.sub_state = PropertyOr<std::string>(changed, "SubState", "");
  state.load_state = PropertyOr<std::string>(changed, "LoadState", "");
  on_change(state);
}

// Manager.ResetFailedUnit, as `systemctl reset-failed UNIT`: leaves the
// failed state and clears the start rate limit. A unit systemd has not
// loaded has nothing to reset.
absl::Status ResetFailedUnit(sdbus::IProxy& manager, const std::string& unit) {
  try {
    manager.callMethod("ResetFailedUnit").onInterface(kManagerInterface).withArguments(unit);
  } catch (const sdbus::Error& error) {
    absl::Status status =
        DbusErrorToStatus(error, absl::StrCat("systemd ResetFailedUnit(", unit, ")"));
    if (!absl::IsNotFound(status)) return status;
  }
  return absl::OkStatus();
}

}  // namespace

std::string DbusSystemdManager::UnitObjectPath(const std::string& unit) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string path = kUnitPathPrefix;
  if (unit.empty()) return path + "_";
  for (size_t i = 0; i < unit.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(unit[i]);
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    if (alpha || (digit && i > 0)) {
      path += static_cast<char>(c);
    } else {
      path += '_';
      path += kHex[c >> 4];
      path += kHex[c & 15];
    }
  }
  return path;
}

absl::StatusOr<std::unique_ptr<UnitWatch>> DbusSystemdManager::WatchUnits(
    const std::vector<std::string>& units, UnitChangeCallback on_change) {
  auto watch = std::make_unique<DbusUnitWatch>();
  // Shared by every unit's handler; the slots own the handlers.
  auto callback = std::make_shared<UnitChangeCallback>(std::move(on_change));
  for (const std::string& unit : units) {
    const std::string match = absl::StrCat(
        "type='signal',sender='", kSystemd, "',path='", UnitObjectPath(unit), "',interface='",
        kPropertiesInterface, "',member='PropertiesChanged',arg0='", kUnitInterface, "'");
    try {
      watch->slots.push_back(connection_->addMatch(
          match, [unit, callback](sdbus::Message& message) {
            DispatchUnitChange(unit, message, *callback);
          }));
    } catch (const sdbus::Error& error) {
      return absl::UnavailableError(absl::StrCat("watching ", unit, ": ", error.getMessage(),
                                                 " (", error.getName(), ")"));
    }
  }
  return std::unique_ptr<UnitWatch>(std::move(watch));
}

absl::StatusOr<std::unique_ptr<DbusSystemdManager>> DbusSystemdManager::Connect() {
  std::unique_ptr<DbusSystemdManager> manager;
  try {
    std::unique_ptr<sdbus::IConnection> connection = sdbus::createSystemBusConnection();
    std::unique_ptr<sdbus::IProxy> proxy = sdbus::createProxy(*connection, kSystemd, kManagerPath);
    manager.reset(new DbusSystemdManager(std::move(connection), std::move(proxy)));
  } catch (const sdbus::Error& error) {
    return absl::UnavailableError(absl::StrCat("cannot connect to the D-Bus system bus: ",
                                               error.getMessage(), " (", error.getName(), ")"));
  }
  try {
    DbusSystemdManager* self = manager.get();
    // The handler is registered and the loop started before Subscribe, so
    // no JobRemoved can be missed from the first job on.
    manager->manager_->uponSignal("JobRemoved")
        .onInterface(kManagerInterface)
        .call([self](uint32_t /*id*/, const sdbus::ObjectPath& job, const std::string& /*unit*/,
                     const std::string& result) { self->OnJobRemoved(job, result); });
    // sdbus-c++ 1.x only subscribes to registered signals here.
    manager->manager_->finishRegistration();
    manager->connection_->enterEventLoopAsync();
    // systemd sends job signals only to clients that subscribed.
    manager->manager_->callMethod("Subscribe").onInterface(kManagerInterface);
  } catch (const sdbus::Error& error) {
    absl::Status status = DbusErrorToStatus(error, "systemd Manager.Subscribe");
    return absl::UnavailableError(absl::StrCat("systemd is not reachable over D-Bus: ",
                                               status.message()));
  }
  return manager;
}

DbusSystemdManager::DbusSystemdManager(std::unique_ptr<sdbus::IConnection> connection,
                                       std::unique_ptr<sdbus::IProxy> manager)
    : connection_(std::move(connection)), manager_(std::move(manager)) {}

DbusSystemdManager::~DbusSystemdManager() {
  // The loop thread calls into this object (OnJobRemoved): join it before
  // any member goes away.
  try {
    connection_->leaveEventLoop();
  } catch (const sdbus::Error& error) {
    spdlog::warn("stopping the D-Bus event loop: {}", error.what());
  }
}

void DbusSystemdManager::OnJobRemoved(const std::string& job, const std::string& result) {
  absl::MutexLock lock(&mu_);
  if (calls_in_flight_ > 0 || awaited_jobs_.contains(job)) finished_jobs_[job] = result;
}

void DbusSystemdManager::PruneFinishedJobs() {
  if (calls_in_flight_ > 0) return;
  absl::erase_if(finished_jobs_,
                 [this](const auto& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                   return !awaited_jobs_.contains(entry.first);
                 });
}

absl::Status DbusSystemdManager::RunJob(const std::string& method, const std::string& unit,
                                        absl::Duration timeout) {
  const std::string what = absl::StrCat("systemd ", method, "(", unit, ")");
  {
    absl::MutexLock lock(&mu_);
    ++calls_in_flight_;
  }
  std::string job;
  absl::Status call_status;
  try {
    sdbus::ObjectPath path;
    manager_->callMethod(method)
        .onInterface(kManagerInterface)
        .withArguments(unit, std::string("replace"))
        .storeResultsTo(path);
    job = std::move(path);
  } catch (const sdbus::Error& error) {
    call_status = DbusErrorToStatus(error, what);
  }

  absl::MutexLock lock(&mu_);
  --calls_in_flight_;
  if (!call_status.ok()) {
    PruneFinishedJobs();
    return call_status;
  }
  awaited_jobs_.insert(job);
  auto finished = [this, &job]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return finished_jobs_.contains(job);
  };
  // Also true when the job ended before its path reached us (recorded
  // because this call was in flight).
  const bool done = mu_.AwaitWithTimeout(absl::Condition(&finished), timeout);
  awaited_jobs_.erase(job);
  std::string result;
  if (done) result = finished_jobs_.extract(job).mapped();
  PruneFinishedJobs();
  if (!done) {
    return absl::DeadlineExceededError(absl::StrCat(what, ": job ", job, " not finished within ",
                                                    absl::FormatDuration(timeout),
                                                    "; it stays queued in systemd"));
  }
  return JobResultToStatus(result, what);
}

// The agent starts and restarts units deliberately (a deploy, a rollback, a
// repair). systemd refuses a start once a unit hit its start limit (5 starts
// in 10 s by default: a crash-looping release, or a few quick deploys), and
// the refusal would stick until someone ran `systemctl reset-failed`: the
// rollback away from a crash-looping release would fail and leave the app
// down. So the start limit is cleared first; a crash loop after the start
// is still seen (NRestarts, the failed state) by whoever watches the unit.
absl::Status DbusSystemdManager::StartUnit(const std::string& unit, absl::Duration timeout) {
  if (absl::Status reset = ResetFailedUnit(*manager_, unit); !reset.ok()) return reset;
  return RunJob("StartUnit", unit, timeout);
}

absl::Status DbusSystemdManager::StopUnit(const std::string& unit, absl::Duration timeout) {
  return RunJob("StopUnit", unit, timeout);
}

absl::Status DbusSystemdManager::RestartUnit(const std::string& unit, absl::Duration timeout) {
  // See StartUnit.
  if (absl::Status reset = ResetFailedUnit(*manager_, unit); !reset.ok()) return reset;
  return RunJob("RestartUnit", unit, timeout);
}

absl::Status DbusSystemdManager::Reload() {
  try {
    manager_->callMethod("Reload").onInterface(kManagerInterface).withTimeout(kReloadTimeout);
  } catch (const sdbus::Error& error) {
    return DbusErrorToStatus(error, "systemd Reload()");
  }
  return absl::OkStatus();
}

absl::Status DbusSystemdManager::EnableUnitFiles(const std::vector<std::string>& units) {
  const std::string what = absl::StrCat("systemd EnableUnitFiles(", absl::StrJoin(units, ", "), ")");
  try {
    bool carries_install_info = false;
    std::vector<UnitFileChange> changes;
    // runtime=false: survive a reboot; force=true: replace symlinks that
    // point elsewhere (e.g. left by a hand edit).
    manager_->callMethod("EnableUnitFiles")
        .onInterface(kManagerInterface)
        .withArguments(units, false, true)
        .storeResultsTo(carries_install_info, changes);
    if (!carries_install_info) {
      // Like systemctl: not an error, but the unit will not start at boot.
      spdlog::warn("{}: no [Install] section, so enabling did nothing", what);
    }
  } catch (const sdbus::Error& error) {
    return DbusErrorToStatus(error, what);
  }
  return absl::OkStatus();
}

absl::Status DbusSystemdManager::DisableUnitFiles(const std::vector<std::string>& units) {
  const std::string what =
      absl::StrCat("systemd DisableUnitFiles(", absl::StrJoin(units, ", "), ")");
  try {
    std::vector<UnitFileChange> changes;
    manager_->callMethod("DisableUnitFiles")
        .onInterface(kManagerInterface)
        .withArguments(units, false)
        .storeResultsTo(changes);
  } catch (const sdbus::Error& error) {
    return DbusErrorToStatus(error, what);
  }
  return absl::OkStatus();
}

absl::StatusOr<UnitState> DbusSystemdManager::GetUnitState(const std::string& unit) {
  const std::string what = absl::StrCat("systemd GetUnitState(", unit, ")");
  UnitState state;
  state.name = unit;
  try {
    // LoadUnit, not GetUnit: GetUnit fails for a unit not in memory, while
    // LoadUnit returns one whose LoadState says "not-found".
    sdbus::ObjectPath path;
    manager_->callMethod("LoadUnit")
        .onInterface(kManagerInterface)
        .withArguments(unit)
        .storeResultsTo(path);
    std::unique_ptr<sdbus::IProxy> unit_proxy = sdbus::createProxy(*connection_, kSystemd, path);
    // One GetAll rather than a Get per property: a consistent snapshot,
    // never an ActiveState from before a change and a SubState from after.
    std::map<std::string, sdbus::Variant> properties;
    unit_proxy->callMethod("GetAll")
        .onInterface(kPropertiesInterface)
        .withArguments(std::string(kUnitInterface))
        .storeResultsTo(properties);
    state.load_state = PropertyOr<std::string>(properties, "LoadState", "");
    state.active_state = PropertyOr<std::string>(properties, "ActiveState", "");
    state.sub_state = PropertyOr<std::string>(properties, "SubState", "");
    const uint64_t entered_usec = PropertyOr<uint64_t>(properties, "ActiveEnterTimestamp", 0);
    if (entered_usec != 0) state.active_enter_time = absl::FromUnixMicros(entered_usec);
    state.unit_file_state = PropertyOr<std::string>(properties, "UnitFileState", "");
    if (absl::EndsWith(unit, ".service")) {
      std::map<std::string, sdbus::Variant> service;
      unit_proxy->callMethod("GetAll")
          .onInterface(kPropertiesInterface)
          .withArguments(std::string(kServiceInterface))
          .storeResultsTo(service);
      state.restarts = PropertyOr<uint32_t>(service, "NRestarts", 0);
      state.main_pid = PropertyOr<uint32_t>(service, "MainPID", 0);
      state.result = PropertyOr<std::string>(service, "Result", "");
      state.exec_main_status = PropertyOr<int32_t>(service, "ExecMainStatus", 0);
      const uint64_t started_usec = PropertyOr<uint64_t>(service, "ExecMainStartTimestamp", 0);
      if (started_usec != 0) state.exec_main_start_time = absl::FromUnixMicros(started_usec);
    }
  } catch (const sdbus::Error& error) {
    return DbusErrorToStatus(error, what);
  }
  return state;
}

absl::StatusOr<std::vector<std::string>> DbusSystemdManager::JournalTail(const std::string& unit,
                                                                         int lines) {
  if (lines < 0) {
    return absl::InvalidArgumentError(absl::StrCat("JournalTail(", unit, "): lines < 0"));
  }
  if (lines == 0) return std::vector<std::string>();
  // --quiet: no "-- No entries --" line for a unit that logged nothing.
  ProcessOptions journalctl;
  journalctl.argv = {"journalctl", "--unit", unit, "--lines", absl::StrCat(lines),
                     "--no-pager", "--output", "cat", "--quiet"};
  // A journal read for an error message must not hold up the deploy.
  journalctl.timeout = absl::Seconds(30);
  absl::StatusOr<ProcessResult> result = RunProcess(journalctl);
  if (!result.ok()) {
    return absl::Status(result.status().code(),
                        absl::StrCat("journal of ", unit, ": ", result.status().message()));
  }
  if (!result->Succeeded()) {
    return absl::InternalError(absl::StrCat("journal of ", unit, ": journalctl ",
                                            result->Describe(), ": ", result->stderr_text));
  }
  std::vector<std::string> tail = absl::StrSplit(result->stdout_text, '\n');
  if (!tail.empty() && tail.back().empty()) tail.pop_back();
  return tail;
}

}  // namespace pyservice::agent
