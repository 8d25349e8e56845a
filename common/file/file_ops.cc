#include "common/file/file_ops.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace pyservice {
namespace {

// The directory holding `path`, opened safely, and the last component.
absl::StatusOr<std::pair<Dir, std::string>> OpenParent(const std::string& path) {
  auto [parent, name] = SplitPath(path);
  if (name.empty() || name == "." || name == "..") {
    return absl::InvalidArgumentError(absl::StrCat("not a file path: \"", path, "\""));
  }
  ASSIGN_OR_RETURN(Dir dir, Dir::Open(parent));
  return std::make_pair(std::move(dir), std::move(name));
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path, absl::string_view content, mode_t mode,
                                 std::optional<Owner> owner) {
  ASSIGN_OR_RETURN(auto parent, OpenParent(path));
  return parent.first.WriteFile(parent.second, content, mode, owner);
}

absl::StatusOr<bool> EnsureDirectory(const std::string& path, mode_t mode,
                                     std::optional<Owner> owner) {
  ASSIGN_OR_RETURN(auto parent, OpenParent(path));
  return parent.first.EnsureDirectory(parent.second, mode, owner);
}

absl::StatusOr<bool> CreateMissingDirectories(const std::string& path, mode_t mode,
                                              std::optional<Owner> owner) {
  if (Dir::Open(path).ok()) return false;
  RETURN_IF_ERROR(Dir::OpenOrCreate(path, mode, owner).status());
  return true;
}

absl::StatusOr<bool> EnsureFile(const std::string& path, absl::string_view content, mode_t mode,
                                std::optional<Owner> owner) {
  ASSIGN_OR_RETURN(auto parent, OpenParent(path));
  const Dir& dir = parent.first;
  const std::string& name = parent.second;
  ASSIGN_OR_RETURN(std::optional<struct stat> info, dir.Stat(name));
  if (info && S_ISREG(info->st_mode) && (info->st_mode & 07777) == mode &&
      (!owner || (info->st_uid == owner->uid && info->st_gid == owner->gid)) &&
      static_cast<size_t>(info->st_size) == content.size()) {
    absl::StatusOr<std::optional<std::string>> existing = dir.ReadFile(name, content.size());
    if (existing.ok() && *existing && **existing == content) return false;
  }
  RETURN_IF_ERROR(dir.WriteFile(name, content, mode, owner));
  return true;
}

absl::StatusOr<std::optional<std::string>> ReadFileIfExists(const std::string& path,
                                                            size_t max_bytes) {
  absl::StatusOr<std::pair<Dir, std::string>> parent = OpenParent(path);
  if (absl::IsNotFound(parent.status())) return std::optional<std::string>();
  if (!parent.ok()) return parent.status();
  return parent->first.ReadFile(parent->second, max_bytes);
}

absl::Status ReplaceSymlink(const std::string& link, const std::string& target) {
  ASSIGN_OR_RETURN(auto parent, OpenParent(link));
  return parent.first.ReplaceSymlink(parent.second, target);
}

absl::StatusOr<std::optional<std::string>> ReadSymlink(const std::string& link) {
  absl::StatusOr<std::pair<Dir, std::string>> parent = OpenParent(link);
  if (absl::IsNotFound(parent.status())) return std::optional<std::string>();
  if (!parent.ok()) return parent.status();
  return parent->first.ReadSymlink(parent->second);
}

absl::Status RemoveTree(const std::string& path) {
  absl::StatusOr<std::pair<Dir, std::string>> parent = OpenParent(path);
  if (absl::IsNotFound(parent.status())) return absl::OkStatus();
  if (!parent.ok()) return parent.status();
  return parent->first.RemoveTree(parent->second);
}

absl::Status RemoveFile(const std::string& path) {
  absl::StatusOr<std::pair<Dir, std::string>> parent = OpenParent(path);
  if (absl::IsNotFound(parent.status())) return absl::OkStatus();
  if (!parent.ok()) return parent.status();
  return parent->first.Remove(parent->second);
}

absl::Status ChownTree(const std::string& path, Owner owner) {
  ASSIGN_OR_RETURN(auto parent, OpenParent(path));
  return parent.first.ChownTree(parent.second, owner);
}

}  // namespace pyservice
