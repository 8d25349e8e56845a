// directories: the app's tree with the role's owners and modes.
// Reads: spec paths; Deploy::owner.
// Writes: APP_ROOT 0775, APP_DIR 0775, APP_CONFIG_DIR 0750, APP_DATA_DIR
// 0750, APP_DIR/releases 0755 and APP_DIR/uv 0755, owned user:group; missing
// parents above them root-owned 0755. Modes or owners changed by hand are
// put back (and reported).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/install/release_layout.h"
#include "agent/install/steps/steps.h"
#include "common/status/status_macros.h"

namespace pyservice::agent {
namespace {

class DirectoriesStep final : public Step {
 public:
  absl::string_view name() const override { return "directories"; }

  absl::StatusOr<bool> Run(Deploy& deploy, HostServices&, const AgentSettings&) override {
    const v1::Paths& paths = deploy.expanded.paths();
    const struct {
      std::string path;
      mode_t mode;
    } tree[] = {
        {paths.app_root(), 0775},       {paths.app_dir(), 0775},
        {paths.app_config_dir(), 0750}, {paths.app_data_dir(), 0750},
        {ReleasesDir(deploy.expanded), 0755}, {absl::StrCat(paths.app_dir(), "/uv"), 0755},
    };
    bool changed = false;
    for (const auto& dir : tree) {
      // Missing parents above the app's tree are root's, like /applications.
      ASSIGN_OR_RETURN(bool created, CreateMissingDirectories(SplitPath(dir.path).first, 0755,
                                                              std::nullopt));
      changed = changed || created;
      ASSIGN_OR_RETURN(bool dir_changed, EnsureDirectory(dir.path, dir.mode, deploy.owner));
      if (dir_changed) {
        deploy.notes.push_back(absl::StrCat(dir.path, " ", absl::StrFormat("%04o", dir.mode)));
      }
      changed = changed || dir_changed;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Step> NewDirectoriesStep() { return std::make_unique<DirectoriesStep>(); }

}  // namespace pyservice::agent
