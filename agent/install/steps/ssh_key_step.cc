// ssh-key: the deploy key for ssh repos, at APP_CONFIG_DIR/ssh_key, owned by
// the app user, mode 0600, as the role writes it.
// Reads: spec ssh_key; Deploy::owner. Writes: the key file (or removes one a
// previous revision wrote). The key's content is never logged.
#include "agent/install/release_layout.h"
#include "agent/install/steps/steps.h"
#include "agent/install/written_files.h"
#include "common/status/status_macros.h"

namespace pyservice::agent {
namespace {

constexpr char kKind[] = "ssh_key";

class SshKeyStep final : public Step {
 public:
  absl::string_view name() const override { return "ssh-key"; }

  absl::StatusOr<bool> Run(Deploy& deploy, HostServices&, const AgentSettings&) override {
    bool changed = false;
    if (!deploy.expanded.ssh_key().empty()) {
      ASSIGN_OR_RETURN(changed, WriteTrackedFile(deploy, kKind, SshKeyPath(deploy.expanded),
                                                 deploy.expanded.ssh_key(), 0600, deploy.owner));
    }
    ASSIGN_OR_RETURN(bool removed, RemoveStaleFiles(deploy, kKind));
    changed = changed || removed;
    return changed;
  }
};

}  // namespace

std::unique_ptr<Step> NewSshKeyStep() { return std::make_unique<SshKeyStep>(); }

}  // namespace pyservice::agent
