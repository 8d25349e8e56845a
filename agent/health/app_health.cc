#include "agent/health/app_health.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/units/unit_renderer.h"
#include "common/spec/template.h"

namespace pyservice::agent {
namespace {

bool IsTransient(const std::string& active_state) {
  return active_state == "activating" || active_state == "deactivating" ||
         active_state == "reloading";
}

// A timer's service whose last run did not succeed. systemd leaves it
// failed until the next run; Result says how it ended even when the
// signal that told us was only the ActiveState change.
bool LastRunFailed(const UnitState& state) {
  return state.active_state == "failed" || (!state.result.empty() && state.result != "success");
}

// Why `unit` makes the app unhealthy, or "" when it does not.
std::string Complaint(const WatchedUnit& unit) {
  const UnitState& state = unit.state;
  const std::string seen =
      absl::StrCat(state.name, " is ", state.active_state, "/", state.sub_state);
  if (!unit.activated) {
    if (!LastRunFailed(state)) return "";  // ran fine, or has not run yet
    if (state.result.empty() || state.result == "success") {
      return absl::StrCat(state.name, " last run failed (", state.active_state, "/",
                          state.sub_state, ")");
    }
    return absl::StrCat(state.name, " last run failed: result ", state.result, ", exit status ",
                        state.exec_main_status);
  }
  if (state.active_state == "failed") return seen;
  if (state.active_state.empty()) return absl::StrCat(state.name, " state unknown");
  if (state.active_state != "active") return seen;
  return "";
}

}  // namespace

v1::HealthState ComputeHealth(const std::vector<WatchedUnit>& units, bool deploying,
                              bool live_broken) {
  if (deploying) return v1::HEALTH_STATE_PROGRESSING;
  if (live_broken) return v1::HEALTH_STATE_FAILED;
  bool unknown = false;
  bool transient = false;
  for (const WatchedUnit& unit : units) {
    const std::string& active = unit.state.active_state;
    if (active == "failed") return v1::HEALTH_STATE_FAILED;
    if (!unit.activated) {
      if (LastRunFailed(unit.state)) return v1::HEALTH_STATE_FAILED;
      continue;  // between runs, or not run yet (pending): healthy
    }
    if (active.empty()) {
      unknown = true;
    } else if (IsTransient(active)) {
      transient = true;
    } else if (active != "active") {
      return v1::HEALTH_STATE_FAILED;  // inactive: stopped, or never started
    }
  }
  if (unknown) return v1::HEALTH_STATE_UNKNOWN;
  if (transient) return v1::HEALTH_STATE_DEGRADED;
  return v1::HEALTH_STATE_HEALTHY;
}

bool LastDeployFailed(const v1::AppState& state) {
  return absl::StartsWith(state.last_result(), "failed");
}

bool LiveReleaseBroken(const v1::AppState& state) { return state.live_broken(); }

bool LiveReleaseUnverified(const v1::AppState& state) {
  if (!state.has_in_flight() || state.live().id().empty()) return false;
  const v1::InFlightDeploy& in_flight = state.in_flight();
  return in_flight.release().id() == state.live().id() &&
         in_flight.spec_digest() == state.live().spec_digest();
}

std::vector<WatchedUnit> LiveUnits(const v1::AppState& state) {
  std::vector<WatchedUnit> units;
  if (state.live().id().empty()) return units;
  // Unit names depend only on the spec's names, but the spec must be
  // expanded to render; a stored live spec always expands.
  absl::StatusOr<v1::AppSpec> expanded = spec::ExpandSpec(state.live().spec());
  if (!expanded.ok()) return units;
  for (const UnitFile& file : RenderUnits(*expanded, EnvironmentBackend::kVenv)) {
    WatchedUnit unit;
    unit.state.name = file.name;
    unit.activated = file.activate;
    units.push_back(std::move(unit));
  }
  return units;
}

v1::AppHealth BuildAppHealth(const v1::AppState& state, const std::vector<WatchedUnit>& units,
                             bool deploying) {
  v1::AppHealth health;
  health.set_app(state.app());
  const v1::ReleaseRecord& live = state.live();
  health.set_revision(live.revision());
  health.set_tag(live.spec().tag());
  health.set_commit(live.commit());
  health.set_spec_digest(live.spec_digest());
  const bool failed_deploy = LastDeployFailed(state);
  health.set_health(ComputeHealth(units, deploying, LiveReleaseBroken(state)));
  // While a deploy runs the state read may be the one before it: only a
  // state at rest says the live release was left unverified.
  health.set_unverified(!deploying && LiveReleaseUnverified(state));
  for (const WatchedUnit& unit : units) {
    v1::UnitHealth* out = health.add_units();
    out->set_unit(unit.state.name);
    out->set_active_state(unit.state.active_state);
    out->set_sub_state(unit.state.sub_state);
    // A timer's service: how its last run ended, once it has run.
    if (!unit.activated && (unit.state.exec_main_start_time != absl::InfinitePast() ||
                            LastRunFailed(unit.state))) {
      out->set_result(unit.state.result);
      out->set_exec_main_status(unit.state.exec_main_status);
    }
  }
  if (health.health() == v1::HEALTH_STATE_HEALTHY) {
    // Healthy on the release it kept; the failed deploy is still news.
    if (failed_deploy && !deploying) health.set_message(state.last_result());
    if (health.unverified()) {
      health.set_message("switched in by a deploy that stopped before its verify passed");
    }
    return health;
  }
  if (deploying) {
    health.set_message("deploying");
    return health;
  }
  // The units first: they say what is wrong now; the deploy's error says
  // what went wrong last.
  for (const WatchedUnit& unit : units) {
    if (std::string complaint = Complaint(unit); !complaint.empty()) {
      health.set_message(complaint);
      return health;
    }
  }
  if (failed_deploy) health.set_message(state.last_result());
  return health;
}

}  // namespace pyservice::agent
