// An in-memory systemd for pipeline tests: units start, stop and restart
// instantly, timestamps come from a (fake) clock, and every call is recorded
// so tests can assert what was (not) restarted.
#ifndef PYSERVICE_TESTS_TESTING_FAKE_SYSTEMD_MANAGER_H_
#define PYSERVICE_TESTS_TESTING_FAKE_SYSTEMD_MANAGER_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/systemd/systemd_manager.h"
#include "common/time/clock.h"

namespace pyservice::testing {

class FakeSystemdManager final : public agent::SystemdManager {
 public:
  explicit FakeSystemdManager(const Clock& clock) : clock_(clock) {}

  absl::Status Reload() override {
    calls_.push_back("Reload");
    return absl::OkStatus();
  }
  absl::Status StartUnit(const std::string& unit, absl::Duration) override {
    calls_.push_back("Start " + unit);
    return Activate(unit);
  }
  absl::Status StopUnit(const std::string& unit, absl::Duration) override {
    calls_.push_back("Stop " + unit);
    agent::UnitState& state = units_[unit];
    state.active_state = "inactive";
    state.sub_state = "dead";
    return absl::OkStatus();
  }
  absl::Status RestartUnit(const std::string& unit, absl::Duration) override {
    calls_.push_back("Restart " + unit);
    return Activate(unit);
  }
  absl::Status EnableUnitFiles(const std::vector<std::string>& units) override {
    calls_.push_back("Enable " + absl::StrJoin(units, ","));
    for (const std::string& unit : units) enabled_.insert(unit);
    return absl::OkStatus();
  }
  absl::Status DisableUnitFiles(const std::vector<std::string>& units) override {
    calls_.push_back("Disable " + absl::StrJoin(units, ","));
    for (const std::string& unit : units) enabled_.erase(unit);
    return absl::OkStatus();
  }
  absl::StatusOr<agent::UnitState> GetUnitState(const std::string& unit) override {
    auto it = units_.find(unit);
    if (it == units_.end()) {
      agent::UnitState unknown;
      unknown.name = unit;
      unknown.load_state = "not-found";
      unknown.active_state = "inactive";
      unknown.sub_state = "dead";
      return unknown;
    }
    return it->second;
  }
  absl::StatusOr<std::vector<std::string>> JournalTail(const std::string& unit, int) override {
    return std::vector<std::string>{absl::StrCat(unit, ": Traceback (most recent call last):"),
                                    "RuntimeError: broken build"};
  }

  // Units started while this is set crash-loop: they count restarts and end
  // up failed, as a broken release does.
  void set_crash_on_start(bool crash) { crash_on_start_ = crash; }
  // A unit stopped behind the agent's back.
  void StopBehindOurBack(const std::string& unit) {
    units_[unit].active_state = "inactive";
    units_[unit].sub_state = "dead";
  }

  // Calls since the last ClearCalls(), e.g. "Restart hello-web.service".
  const std::vector<std::string>& calls() const { return calls_; }
  void ClearCalls() { calls_.clear(); }
  bool enabled(const std::string& unit) const { return enabled_.count(unit) > 0; }

 private:
  absl::Status Activate(const std::string& unit) {
    agent::UnitState& state = units_[unit];
    state.name = unit;
    state.load_state = "loaded";
    if (crash_on_start_) {
      state.active_state = "failed";
      state.sub_state = "failed";
      state.restarts = 5;
      return absl::OkStatus();
    }
    state.active_state = "active";
    state.sub_state = unit.ends_with(".timer") ? "waiting" : "running";
    state.active_enter_time = clock_.Now();
    state.restarts = 0;
    return absl::OkStatus();
  }

  const Clock& clock_;
  std::map<std::string, agent::UnitState> units_;
  std::set<std::string> enabled_;
  std::vector<std::string> calls_;
  bool crash_on_start_ = false;
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_FAKE_SYSTEMD_MANAGER_H_
