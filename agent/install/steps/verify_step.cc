// verify: the deploy is healthy when every service has been active, without
// a restart, for health.min_healthy, every timer is active, and the
// optional HTTP check answers 2xx — all within health.deadline.
// Reads: expanded spec health; unit states (SystemdManager); the HTTP URL.
// Writes: nothing. On failure the error carries each unhealthy unit's state
// and the last lines of its journal; the pipeline then rolls back.
//
// Units that were not restarted (a no-op re-apply) have long been active,
// so verification of an unchanged app costs one look at each unit.
#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/health/http_check.h"
#include "agent/install/steps/steps.h"
#include "common/status/status_macros.h"

namespace pyservice::agent {
namespace {

constexpr int kJournalLines = 20;

class VerifyStep final : public Step {
 public:
  absl::string_view name() const override { return "verify"; }

  absl::StatusOr<bool> Run(Deploy& deploy, HostServices& host,
                           const AgentSettings& settings) override {
    const v1::Health& health = deploy.expanded.health();
    const absl::Duration min_healthy = absl::Milliseconds(health.min_healthy_ms());
    const absl::Time deadline = host.clock.Now() + absl::Milliseconds(health.deadline_ms());
    std::vector<std::string> units;
    for (const UnitFile& unit : RenderUnits(deploy.expanded, EnvironmentBackend::kVenv)) {
      if (unit.activate) units.push_back(unit.name);
    }
    // A restart counted before we look is history (NRestarts resets only on
    // an explicit start); one counted while we watch is a crash.
    std::map<std::string, uint32_t> baseline_restarts;
    for (const std::string& unit : units) {
      ASSIGN_OR_RETURN(UnitState state, host.systemd.GetUnitState(unit));
      baseline_restarts[unit] = state.restarts;
    }
    std::string waiting_for;
    // Reported as "done" when it had to wait for fresh units, "unchanged"
    // when everything was long healthy already (a no-op re-apply).
    bool waited = false;
    while (true) {
      // One pass over everything; the first unhealthy thing is what we wait
      // for, a failed unit ends the wait at once.
      waiting_for.clear();
      for (const std::string& unit : units) {
        ASSIGN_OR_RETURN(UnitState state, host.systemd.GetUnitState(unit));
        const bool is_service = absl::EndsWith(unit, ".service");
        const uint32_t crashes = state.restarts - std::min(state.restarts, baseline_restarts[unit]);
        if (state.active_state == "failed" || (is_service && crashes > 0)) {
          return Unhealthy(host, unit, state, crashes);
        }
        if (state.active_state != "active") {
          waiting_for = absl::StrCat(unit, " is ", state.active_state, "/", state.sub_state);
          break;
        }
        const absl::Duration up = host.clock.Now() - state.active_enter_time;
        if (is_service && up < min_healthy) {
          waiting_for = absl::StrCat(unit, " up for ", absl::FormatDuration(absl::Trunc(up, absl::Seconds(1))),
                                     " of ", absl::FormatDuration(min_healthy));
          break;
        }
      }
      if (waiting_for.empty() && !health.http().empty()) {
        absl::Status http = CheckHttp(health.http(), absl::Seconds(2));
        if (!http.ok()) waiting_for = std::string(http.message());
      }
      if (waiting_for.empty()) {
        deploy.notes.push_back(absl::StrCat(units.size(), " units healthy"));
        return waited;
      }
      if (host.clock.Now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "not healthy within ", absl::FormatDuration(absl::Milliseconds(health.deadline_ms())),
            ": ", waiting_for));
      }
      host.sleep(settings.health_poll_interval);
      waited = true;
    }
  }

 private:
  static absl::Status Unhealthy(HostServices& host, const std::string& unit,
                                const UnitState& state, uint32_t crashes) {
    std::string message = absl::StrCat(unit, " is ", state.active_state, "/", state.sub_state);
    if (crashes > 0) absl::StrAppend(&message, " after ", crashes, " restarts");
    absl::StatusOr<std::vector<std::string>> journal = host.systemd.JournalTail(unit, kJournalLines);
    if (journal.ok() && !journal->empty()) {
      absl::StrAppend(&message, "; last log lines:\n  ", absl::StrJoin(*journal, "\n  "));
    }
    return absl::FailedPreconditionError(message);
  }
};

}  // namespace

std::unique_ptr<Step> NewVerifyStep() { return std::make_unique<VerifyStep>(); }

}  // namespace pyservice::agent
