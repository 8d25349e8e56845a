// files: every `files:` entry, content written only when it differs.
// Reads: expanded spec files; Deploy::owner. Writes: each dest (mode as
// given, default 0600, owner user:group), missing parent directories (0700,
// owner user), and removes files a previous revision wrote that this one no
// longer defines. Contents are secrets: never logged, never in notes.
#include "absl/strings/str_cat.h"
#include "agent/install/steps/steps.h"
#include "agent/install/written_files.h"
#include "common/status/status_macros.h"

namespace pyservice::agent {
namespace {

constexpr char kKind[] = "file";

// Creates the missing directories above `path`, each 0700 and owned by the
// app user, as the role does. Existing directories are left as they are: a
// file in the config dir must not tighten the config dir.
absl::Status EnsureParents(const std::string& path, Owner owner) {
  return CreateMissingDirectories(SplitPath(path).first, 0700, owner).status();
}

class FilesStep final : public Step {
 public:
  absl::string_view name() const override { return "files"; }

  absl::StatusOr<bool> Run(Deploy& deploy, HostServices&, const AgentSettings&) override {
    bool changed = false;
    for (const v1::File& file : deploy.expanded.files()) {
      RETURN_IF_ERROR(EnsureParents(file.dest(), deploy.owner));
      ASSIGN_OR_RETURN(bool wrote, WriteTrackedFile(deploy, kKind, file.dest(), file.content(),
                                                    file.mode(), deploy.owner));
      changed = changed || wrote;
    }
    ASSIGN_OR_RETURN(bool removed, RemoveStaleFiles(deploy, kKind));
    changed = changed || removed;
    deploy.files_changed = deploy.files_changed || changed;
    return changed;
  }
};

}  // namespace

std::unique_ptr<Step> NewFilesStep() { return std::make_unique<FilesStep>(); }

}  // namespace pyservice::agent
