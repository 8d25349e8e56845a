// config: the `config:` mapping as config.yaml at APP_CONFIG (the playbook's
// custom step), owner the app user, 0600, templates expanded.
// Reads: expanded spec config_yaml; Deploy::owner. Writes: APP_CONFIG, or
// removes it when a previous revision wrote one and this one has no config.
#include "absl/strings/str_cat.h"
#include "agent/install/steps/steps.h"
#include "agent/install/written_files.h"
#include "common/status/status_macros.h"

namespace pyservice::agent {
namespace {

constexpr char kKind[] = "config";

class ConfigStep final : public Step {
 public:
  absl::string_view name() const override { return "config"; }

  absl::StatusOr<bool> Run(Deploy& deploy, HostServices&, const AgentSettings&) override {
    bool changed = false;
    if (!deploy.expanded.config_yaml().empty()) {
      ASSIGN_OR_RETURN(changed, WriteTrackedFile(deploy, kKind, deploy.expanded.paths().app_config(),
                                                 deploy.expanded.config_yaml(), 0600, deploy.owner));
    }
    ASSIGN_OR_RETURN(bool removed, RemoveStaleFiles(deploy, kKind));
    changed = changed || removed;
    deploy.files_changed = deploy.files_changed || changed;
    return changed;
  }
};

}  // namespace

std::unique_ptr<Step> NewConfigStep() { return std::make_unique<ConfigStep>(); }

}  // namespace pyservice::agent
