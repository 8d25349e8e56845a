// switch: makes the release live by pointing APP_CODE_DIR at it, with one
// rename(2), so there is no moment without code.
// Reads: Deploy::release id. Writes: the APP_CODE_DIR symlink;
// Deploy::release_switched.
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "agent/install/release_layout.h"
#include "agent/install/steps/steps.h"
#include "common/status/status_macros.h"

namespace pyservice::agent {
namespace {

class SwitchStep final : public Step {
 public:
  absl::string_view name() const override { return "switch"; }

  absl::StatusOr<bool> Run(Deploy& deploy, HostServices&, const AgentSettings&) override {
    const std::string& code_dir = deploy.expanded.paths().app_code_dir();
    const std::string target = ReleaseDir(deploy.expanded, deploy.release.id());
    // One fd for APP_DIR: the look and the swap are in the same directory
    // whatever the app user renames meanwhile.
    const auto [parent_path, name] = SplitPath(code_dir);
    ASSIGN_OR_RETURN(const Dir parent, Dir::Open(parent_path));
    ASSIGN_OR_RETURN(std::optional<struct stat> info, parent.Stat(name));
    if (info && !S_ISLNK(info->st_mode)) {
      // A checkout left by the Ansible role or by hand: never delete code
      // we did not put there.
      return absl::FailedPreconditionError(absl::StrCat(
          code_dir, " is a real directory, not a release symlink; move it away to let pyservice "
                    "manage the app"));
    }
    ASSIGN_OR_RETURN(std::optional<std::string> current, parent.ReadSymlink(name));
    if (current && *current == target) return false;
    RETURN_IF_ERROR(parent.ReplaceSymlink(name, target));
    deploy.release_switched = true;
    deploy.notes.push_back(absl::StrCat("live release is ", deploy.release.id()));
    return true;
  }
};

}  // namespace

std::unique_ptr<Step> NewSwitchStep() { return std::make_unique<SwitchStep>(); }

}  // namespace pyservice::agent
