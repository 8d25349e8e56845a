#include "agent/install/running_release.h"

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/install/release_layout.h"
#include "agent/units/unit_renderer.h"
#include "common/status/status_macros.h"

namespace pyservice::agent {

absl::StatusOr<std::string> RunningReleaseId(const v1::AppSpec& expanded, SystemdManager& systemd,
                                             const std::string& proc) {
  const std::filesystem::path releases(ReleasesDir(expanded));
  for (const UnitFile& unit : RenderUnits(expanded, EnvironmentBackend::kVenv)) {
    if (!unit.activate || !absl::EndsWith(unit.name, ".service")) continue;
    ASSIGN_OR_RETURN(UnitState state, systemd.GetUnitState(unit.name));
    if (state.main_pid == 0) continue;
    std::error_code error;
    const std::filesystem::path cwd =
        std::filesystem::read_symlink(absl::StrCat(proc, "/", state.main_pid, "/cwd"), error);
    // Gone since systemd answered: it is not running anything.
    if (error) continue;
    if (cwd.parent_path() == releases) return cwd.filename().string();
  }
  return std::string();
}

}  // namespace pyservice::agent
