#include "agent/drift/drift_check.h"

#include <sys/stat.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/health/app_health.h"
#include "agent/install/release_layout.h"
#include "common/file/safe_dir.h"
#include "common/spec/template.h"
#include "common/status/status_macros.h"
#include "common/text/sha256.h"

namespace pyservice::agent {
namespace {

// Why `file` is not as the last deploy wrote it, or "" when it is.
absl::StatusOr<std::string> FileDrift(const v1::WrittenFile& file) {
  const auto [parent_path, name] = SplitPath(file.path());
  absl::StatusOr<Dir> parent = Dir::Open(parent_path);
  if (absl::IsNotFound(parent.status())) return std::string("missing");
  if (!parent.ok()) return parent.status();
  ASSIGN_OR_RETURN(std::optional<struct stat> info, parent->Stat(name));
  if (!info) return std::string("missing");
  if (!S_ISREG(info->st_mode)) return std::string("not a regular file");
  // Bounded by what the spec may hold: a file grown past it changed.
  absl::StatusOr<std::optional<std::string>> content = parent->ReadFile(name);
  if (absl::IsInvalidArgument(content.status())) return std::string("changed");
  if (!content.ok()) return content.status();
  if (!*content) return std::string("missing");
  if (text::Sha256Hex(**content) != file.sha256()) return std::string("changed");
  if ((info->st_mode & 07777) != file.mode()) return std::string("mode changed");
  return std::string();
}

}  // namespace

absl::StatusOr<std::vector<DriftFinding>> FindDrift(const v1::AppState& state,
                                                    SystemdManager& systemd) {
  std::vector<DriftFinding> found;
  const v1::ReleaseRecord& live = state.live();
  if (live.id().empty() || state.has_in_flight()) return found;
  for (const v1::WrittenFile& file : state.files()) {
    ASSIGN_OR_RETURN(std::string reason, FileDrift(file));
    if (!reason.empty()) found.push_back({file.path(), std::move(reason)});
  }
  // Enablement: the deploy enabled every unit it starts; a mask or a
  // disable since is an operator's hand on the switch.
  for (const WatchedUnit& unit : LiveUnits(state)) {
    ASSIGN_OR_RETURN(UnitState unit_state, systemd.GetUnitState(unit.state.name));
    if (unit_state.load_state == "masked" || unit_state.unit_file_state == "masked" ||
        unit_state.unit_file_state == "masked-runtime") {
      found.push_back({unit.state.name, "masked"});
    } else if (unit.activated && unit_state.unit_file_state == "disabled") {
      found.push_back({unit.state.name, "disabled"});
    }
  }
  ASSIGN_OR_RETURN(v1::AppSpec expanded, spec::ExpandSpec(live.spec()));
  const std::string& code_dir = expanded.paths().app_code_dir();
  const std::string want = ReleaseDir(expanded, live.id());
  const auto [parent_path, name] = SplitPath(code_dir);
  absl::StatusOr<Dir> parent = Dir::Open(parent_path);
  if (!parent.ok() && !absl::IsNotFound(parent.status())) return parent.status();
  std::optional<struct stat> info;
  if (parent.ok()) {
    ASSIGN_OR_RETURN(info, parent->Stat(name));
  }
  if (!info) {
    found.push_back({code_dir, "missing"});
  } else if (!S_ISLNK(info->st_mode)) {
    found.push_back({code_dir, "not a symlink"});
  } else {
    ASSIGN_OR_RETURN(std::optional<std::string> target, parent->ReadSymlink(name));
    if (target && *target != want) {
      found.push_back({code_dir, absl::StrCat("points to ", *target, ", not the live release ",
                                              live.id())});
    }
  }
  return found;
}

std::string DescribeDrift(const std::vector<DriftFinding>& findings) {
  return absl::StrJoin(findings, ", ", [](std::string* out, const DriftFinding& finding) {
    absl::StrAppend(out, finding.path, " (", finding.reason, ")");
  });
}

}  // namespace pyservice::agent
