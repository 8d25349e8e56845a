// units: writes the app's unit files and brings systemd in line with them.
// Reads: expanded spec, Deploy::release backend, release_switched,
// files_changed. Writes: UNIT_DIR/APP-*.service|timer (0644, root), and
// through D-Bus: stops + disables units the revision no longer defines,
// Reload, enables and (re)starts what changed.
//
// What restarts: a unit whose file changed; every service when the release
// or its files changed (they are read at start), or when the state's live
// release is not this deploy's (a resumed deploy whose switch was done by
// the run that was killed); a unit that is not running
// although it should (stopped by hand: drift). Nothing else: a re-apply of
// the same revision restarts nothing. A unit it starts that was disabled by
// hand is enabled again (drift); a masked one is left masked (the
// operator's deliberate off switch: reported, not overridden).
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "agent/install/steps/steps.h"
#include "agent/install/written_files.h"
#include "common/spec/canonical.h"
#include "common/status/status_macros.h"

namespace pyservice::agent {
namespace {

constexpr char kKind[] = "unit";

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

class UnitsStep final : public Step {
 public:
  absl::string_view name() const override { return "units"; }

  absl::StatusOr<bool> Run(Deploy& deploy, HostServices& host,
                           const AgentSettings& settings) override {
    SystemdManager& systemd = host.systemd;
    const absl::Duration timeout = absl::Milliseconds(deploy.expanded.health().deadline_ms());
    const EnvironmentBackend backend = deploy.release.backend() == "uv" ? EnvironmentBackend::kUv
                                                                       : EnvironmentBackend::kVenv;
    const std::vector<UnitFile> units = RenderUnits(deploy.expanded, backend);
    std::set<std::string> changed;
    for (const UnitFile& unit : units) {
      ASSIGN_OR_RETURN(bool wrote,
                       WriteTrackedFile(deploy, kKind, absl::StrCat(settings.unit_dir, "/", unit.name),
                                        unit.content, 0644, std::nullopt));
      if (wrote) changed.insert(unit.name);
    }
    // Units of the previous revision that this one does not define go away
    // completely: stopped, disabled, file removed.
    const std::vector<std::string> stale = StalePaths(deploy, kKind);
    for (const std::string& path : stale) {
      const std::string unit = BaseName(path);
      ASSIGN_OR_RETURN(UnitState state, systemd.GetUnitState(unit));
      if (state.load_state != "not-found") RETURN_IF_ERROR(systemd.StopUnit(unit, timeout));
      // NOT_FOUND: the file is already gone (deleted by hand); nothing to
      // disable.
      if (absl::Status disabled = systemd.DisableUnitFiles({unit});
          !disabled.ok() && !absl::IsNotFound(disabled)) {
        return disabled;
      }
      RETURN_IF_ERROR(RemoveFile(path));
      deploy.notes.push_back(absl::StrCat("removed ", unit));
    }
    if (!changed.empty() || !stale.empty()) RETURN_IF_ERROR(systemd.Reload());

    bool acted = !changed.empty() || !stale.empty();
    // Until this step has run for a deploy, the state names the release and
    // spec the services were last started with (the pipeline records the
    // deploy live right after this step). One that is not this deploy's
    // means they still run other code or files, also when this run found
    // the symlink and files already switched (an agent killed between the
    // switch and the restart, resumed).
    const v1::ReleaseRecord& live = deploy.state->live();
    const bool runs_other = live.id() != deploy.release.id() ||
                            !spec::SameSpec(live.spec(), deploy.spec);
    const bool restart_services = deploy.release_switched || deploy.files_changed || runs_other;
    for (const UnitFile& unit : units) {
      if (!unit.activate) continue;
      const bool is_timer = absl::EndsWith(unit.name, ".timer");
      const bool file_changed = changed.count(unit.name) > 0;
      if (file_changed) {
        RETURN_IF_ERROR(systemd.EnableUnitFiles({unit.name}));
      } else {
        // Disabled by hand (drift): it would not start at the next boot.
        ASSIGN_OR_RETURN(UnitState enablement, systemd.GetUnitState(unit.name));
        if (enablement.unit_file_state == "disabled") {
          RETURN_IF_ERROR(systemd.EnableUnitFiles({unit.name}));
          deploy.notes.push_back(absl::StrCat("enabled ", unit.name, " (was disabled)"));
          acted = true;
        }
      }
      if (file_changed || (!is_timer && restart_services)) {
        RETURN_IF_ERROR(systemd.RestartUnit(unit.name, timeout));
        deploy.notes.push_back(absl::StrCat("restarted ", unit.name));
        acted = true;
        continue;
      }
      ASSIGN_OR_RETURN(UnitState state, systemd.GetUnitState(unit.name));
      if (state.active_state != "active") {
        RETURN_IF_ERROR(systemd.StartUnit(unit.name, timeout));
        deploy.notes.push_back(absl::StrCat("started ", unit.name, " (was ", state.active_state, ")"));
        acted = true;
      }
    }
    return acted;
  }
};

}  // namespace

std::unique_ptr<Step> NewUnitsStep() { return std::make_unique<UnitsStep>(); }

}  // namespace pyservice::agent
