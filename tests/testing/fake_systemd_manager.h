// An in-memory systemd for pipeline and daemon tests: units start, stop and
// restart instantly, timestamps come from a (fake) clock, and every call is
// recorded so tests can assert what was (not) restarted.
//
// Like the real one it is safe to call from several threads, and every
// state change is pushed to the watches of WatchUnits (on the calling
// thread, after the fake's own lock is released).
#ifndef PYSERVICE_TESTS_TESTING_FAKE_SYSTEMD_MANAGER_H_
#define PYSERVICE_TESTS_TESTING_FAKE_SYSTEMD_MANAGER_H_

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "agent/systemd/systemd_manager.h"
#include "common/time/clock.h"

namespace pyservice::testing {

class FakeSystemdManager final : public agent::SystemdManager {
 public:
  explicit FakeSystemdManager(const Clock& clock) : clock_(clock) {}

  absl::Status Reload() override {
    absl::MutexLock lock(&mu_);
    calls_.push_back("Reload");
    return absl::OkStatus();
  }
  absl::Status StartUnit(const std::string& unit, absl::Duration) override {
    return Activate("Start", unit);
  }
  absl::Status StopUnit(const std::string& unit, absl::Duration) override {
    {
      absl::MutexLock lock(&mu_);
      calls_.push_back("Stop " + unit);
    }
    SetUnitState(unit, "inactive", "dead");
    return absl::OkStatus();
  }
  absl::Status RestartUnit(const std::string& unit, absl::Duration) override {
    return Activate("Restart", unit);
  }
  absl::Status EnableUnitFiles(const std::vector<std::string>& units) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back("Enable " + absl::StrJoin(units, ","));
    for (const std::string& unit : units) {
      enabled_.insert(unit);
      disabled_by_hand_.erase(unit);
    }
    return absl::OkStatus();
  }
  absl::Status DisableUnitFiles(const std::vector<std::string>& units) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back("Disable " + absl::StrJoin(units, ","));
    for (const std::string& unit : units) enabled_.erase(unit);
    return absl::OkStatus();
  }
  absl::StatusOr<agent::UnitState> GetUnitState(const std::string& unit) override {
    absl::MutexLock lock(&mu_);
    auto it = units_.find(unit);
    if (it == units_.end()) {
      agent::UnitState unknown;
      unknown.name = unit;
      unknown.load_state = "not-found";
      unknown.active_state = "inactive";
      unknown.sub_state = "dead";
      return unknown;
    }
    agent::UnitState state = it->second;
    // Known only for what the agent enabled or a test disabled by hand.
    if (disabled_by_hand_.count(unit)) {
      state.unit_file_state = "disabled";
    } else if (enabled_.count(unit)) {
      state.unit_file_state = "enabled";
    }
    return state;
  }
  absl::StatusOr<std::vector<std::string>> JournalTail(const std::string& unit, int) override {
    return std::vector<std::string>{absl::StrCat(unit, ": Traceback (most recent call last):"),
                                    "RuntimeError: broken build"};
  }
  absl::StatusOr<std::unique_ptr<agent::UnitWatch>> WatchUnits(
      const std::vector<std::string>& units, agent::UnitChangeCallback on_change) override {
    absl::MutexLock lock(&mu_);
    const int id = next_watch_id_++;
    watches_[id] = Watch{std::set<std::string>(units.begin(), units.end()),
                         std::make_shared<agent::UnitChangeCallback>(std::move(on_change))};
    return std::unique_ptr<agent::UnitWatch>(new FakeWatch(*this, id));
  }

  // Units started while this is set crash-loop: they count restarts and end
  // up failed, as a broken release does.
  void set_crash_on_start(bool crash) {
    absl::MutexLock lock(&mu_);
    crash_on_start_ = crash;
  }
  // A unit stopped behind the agent's back.
  void StopBehindOurBack(const std::string& unit) { SetUnitState(unit, "inactive", "dead"); }
  // Any change of a unit's state, as systemd would make it on its own (a
  // crash, a restart by Restart=), pushed to the watches.
  void SetUnitState(const std::string& unit, const std::string& active_state,
                    const std::string& sub_state) {
    absl::MutexLock notifying(&notify_mu_);
    agent::UnitState changed;
    {
      absl::MutexLock lock(&mu_);
      agent::UnitState& state = units_[unit];
      state.name = unit;
      if (state.load_state.empty()) state.load_state = "loaded";
      state.active_state = active_state;
      state.sub_state = sub_state;
      changed = state;
    }
    Notify(changed);
  }

  // `systemctl disable UNIT` behind the agent's back.
  void DisableBehindOurBack(const std::string& unit) {
    absl::MutexLock lock(&mu_);
    disabled_by_hand_.insert(unit);
  }
  // `systemctl mask --runtime UNIT` behind the agent's back.
  void MaskBehindOurBack(const std::string& unit) {
    absl::MutexLock lock(&mu_);
    units_[unit].name = unit;
    units_[unit].load_state = "masked";
  }
  // A run of a timer's service ended: `result` "success" leaves it
  // inactive/dead, anything else failed/failed, as systemd does; the
  // result, exit status and start time are what GetUnitState reports then.
  void FinishRun(const std::string& unit, const std::string& result, int32_t exit_status) {
    absl::MutexLock notifying(&notify_mu_);
    agent::UnitState changed;
    {
      absl::MutexLock lock(&mu_);
      agent::UnitState& state = units_[unit];
      state.name = unit;
      state.load_state = "loaded";
      const bool ok = result == "success";
      state.active_state = ok ? "inactive" : "failed";
      state.sub_state = ok ? "dead" : "failed";
      state.result = result;
      state.exec_main_status = exit_status;
      state.exec_main_start_time = clock_.Now();
      changed = state;
    }
    Notify(changed);
  }

  // The main process systemd reports for a service (0: none).
  void set_main_pid(const std::string& unit, uint32_t pid) {
    absl::MutexLock lock(&mu_);
    units_[unit].name = unit;
    units_[unit].main_pid = pid;
  }

  // Calls since the last ClearCalls(), e.g. "Restart hello-web.service".
  std::vector<std::string> calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  void ClearCalls() {
    absl::MutexLock lock(&mu_);
    calls_.clear();
  }
  bool enabled(const std::string& unit) const {
    absl::MutexLock lock(&mu_);
    return enabled_.count(unit) > 0;
  }
  // Watches not yet destroyed.
  int watch_count() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(watches_.size());
  }

 private:
  struct Watch {
    std::set<std::string> units;
    std::shared_ptr<agent::UnitChangeCallback> on_change;
  };
  class FakeWatch final : public agent::UnitWatch {
   public:
    FakeWatch(FakeSystemdManager& manager, int id) : manager_(manager), id_(id) {}
    ~FakeWatch() override { manager_.RemoveWatch(id_); }

   private:
    FakeSystemdManager& manager_;
    int id_;
  };

  absl::Status Activate(const std::string& verb, const std::string& unit) {
    absl::MutexLock notifying(&notify_mu_);
    agent::UnitState changed;
    {
      absl::MutexLock lock(&mu_);
      calls_.push_back(absl::StrCat(verb, " ", unit));
      agent::UnitState& state = units_[unit];
      state.name = unit;
      state.load_state = "loaded";
      if (crash_on_start_) {
        state.active_state = "failed";
        state.sub_state = "failed";
        state.restarts = 5;
      } else {
        state.active_state = "active";
        state.sub_state = unit.ends_with(".timer") ? "waiting" : "running";
        state.active_enter_time = clock_.Now();
        state.restarts = 0;
      }
      changed = state;
    }
    Notify(changed);
    return absl::OkStatus();
  }

  // Calls the watches of `state.name`. The caller holds notify_mu_ from the
  // change to the end of the notification, so watches see one unit's
  // changes in the order they happened, and RemoveWatch (which takes it
  // too) returns only once no callback of the removed watch runs — the
  // contract of a destroyed UnitWatch.
  void Notify(const agent::UnitState& state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(notify_mu_)
      ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<std::shared_ptr<agent::UnitChangeCallback>> callbacks;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [id, watch] : watches_) {
        if (watch.units.count(state.name)) callbacks.push_back(watch.on_change);
      }
    }
    agent::UnitState change;
    change.name = state.name;
    change.load_state = state.load_state;
    change.active_state = state.active_state;
    change.sub_state = state.sub_state;
    for (const auto& callback : callbacks) (*callback)(change);
  }

  void RemoveWatch(int id) {
    absl::MutexLock notifying(&notify_mu_);
    absl::MutexLock lock(&mu_);
    watches_.erase(id);
  }

  const Clock& clock_;
  // Lock order: notify_mu_ before mu_.
  absl::Mutex notify_mu_;
  mutable absl::Mutex mu_;
  std::map<std::string, agent::UnitState> units_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> enabled_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> disabled_by_hand_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
  bool crash_on_start_ ABSL_GUARDED_BY(mu_) = false;
  std::map<int, Watch> watches_ ABSL_GUARDED_BY(mu_);
  int next_watch_id_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_FAKE_SYSTEMD_MANAGER_H_
