// Bookkeeping of the files the agent writes (units, files:, config.yaml, the
// ssh key): written only when different, recorded in the deploy, compared
// with what the last deploy recorded to tell a hand edit (drift, repaired
// and reported) from a spec change, and removed when no longer defined.
#ifndef PYSERVICE_AGENT_INSTALL_WRITTEN_FILES_H_
#define PYSERVICE_AGENT_INSTALL_WRITTEN_FILES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/install/deploy.h"

namespace pyservice::agent {

// Makes `path` hold `content` with `mode` and `owner` and records it under
// `kind`. Returns whether it wrote. Notes name the path, never the content.
absl::StatusOr<bool> WriteTrackedFile(Deploy& deploy, absl::string_view kind,
                                      const std::string& path, absl::string_view content,
                                      mode_t mode, std::optional<Owner> owner);

// Paths of `kind` that the live deploy wrote and this one did not.
std::vector<std::string> StalePaths(const Deploy& deploy, absl::string_view kind);

// Removes the StalePaths of `kind`, noting each; returns whether any was.
absl::StatusOr<bool> RemoveStaleFiles(Deploy& deploy, absl::string_view kind);

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_INSTALL_WRITTEN_FILES_H_
