#include "agent/install/written_files.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/file/file_ops.h"
#include "common/status/status_macros.h"
#include "common/text/sha256.h"

namespace pyservice::agent {
namespace {

const v1::WrittenFile* Recorded(const Deploy& deploy, const std::string& path) {
  for (const v1::WrittenFile& file : deploy.state->files()) {
    if (file.path() == path) return &file;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<bool> WriteTrackedFile(Deploy& deploy, absl::string_view kind,
                                      const std::string& path, absl::string_view content,
                                      mode_t mode, std::optional<Owner> owner) {
  const std::string digest = text::Sha256Hex(content);
  ASSIGN_OR_RETURN(bool wrote, EnsureFile(path, content, mode, owner));
  if (wrote) {
    // The last deploy wrote exactly this: so someone changed it since.
    const v1::WrittenFile* before = Recorded(deploy, path);
    const bool drift = before != nullptr && before->sha256() == digest && before->mode() == mode;
    deploy.notes.push_back(absl::StrCat(drift ? "repaired " : "wrote ", path,
                                        drift ? " (changed by hand)" : ""));
  }
  v1::WrittenFile* record = &deploy.written.emplace_back();
  record->set_path(path);
  record->set_sha256(digest);
  record->set_mode(mode);
  record->set_kind(std::string(kind));
  return wrote;
}

std::vector<std::string> StalePaths(const Deploy& deploy, absl::string_view kind) {
  std::vector<std::string> stale;
  for (const v1::WrittenFile& file : deploy.state->files()) {
    if (file.kind() != kind) continue;
    const bool kept = std::any_of(deploy.written.begin(), deploy.written.end(),
                                  [&](const v1::WrittenFile& w) { return w.path() == file.path(); });
    if (!kept) stale.push_back(file.path());
  }
  return stale;
}

absl::StatusOr<bool> RemoveStaleFiles(Deploy& deploy, absl::string_view kind) {
  const std::vector<std::string> stale = StalePaths(deploy, kind);
  for (const std::string& path : stale) {
    RETURN_IF_ERROR(RemoveFile(path));
    deploy.notes.push_back(absl::StrCat("removed ", path));
  }
  return !stale.empty();
}

}  // namespace pyservice::agent
