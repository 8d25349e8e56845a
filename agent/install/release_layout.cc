#include "agent/install/release_layout.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/file/file_ops.h"
#include "common/status/status_macros.h"
#include "common/text/sha256.h"

namespace pyservice::agent {

std::string ReleasesDir(const v1::AppSpec& spec) {
  return absl::StrCat(spec.paths().app_dir(), "/releases");
}

std::string ReleaseDir(const v1::AppSpec& spec, const std::string& release_id) {
  return absl::StrCat(ReleasesDir(spec), "/", release_id);
}

std::string ReleaseId(const std::string& tag, const std::string& commit) {
  return absl::StrCat(absl::StrReplaceAll(tag, {{"/", "_"}}), "-", commit.substr(0, 12));
}

std::string MirrorDir(const std::string& state_dir, const std::string& app) {
  return absl::StrCat(state_dir, "/apps/", app, "/mirror.git");
}

std::string SshKeyPath(const v1::AppSpec& spec) {
  return absl::StrCat(spec.paths().app_config_dir(), "/ssh_key");
}

absl::StatusOr<std::string> TreeDigest(const std::string& release_dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> entries;
  std::error_code error;
  auto it = fs::recursive_directory_iterator(release_dir, error);
  for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    const std::string name = it->path().filename().string();
    const bool generated = name == ".venv" || name == "__pycache__" || name == "build" ||
                           absl::EndsWith(name, ".egg-info") || name == kEnvironmentMarker;
    if (generated) {
      if (it->is_directory(error) && !it->is_symlink(error)) it.disable_recursion_pending();
      continue;
    }
    const std::string relative = it->path().lexically_relative(release_dir).string();
    struct stat info;
    if (lstat(it->path().c_str(), &info) != 0) {
      return absl::InternalError(absl::StrCat("cannot stat ", it->path().string()));
    }
    if (S_ISLNK(info.st_mode)) {
      entries.push_back(absl::StrCat(relative, " link ",
                                     fs::read_symlink(it->path(), error).string()));
    } else if (S_ISREG(info.st_mode)) {
      ASSIGN_OR_RETURN(std::optional<std::string> content, ReadFileIfExists(it->path().string()));
      entries.push_back(absl::StrCat(relative, " file ", (info.st_mode & 0111) ? "x " : "- ",
                                     text::Sha256Hex(content.value_or(""))));
    } else if (S_ISDIR(info.st_mode)) {
      entries.push_back(absl::StrCat(relative, " dir"));
    }
  }
  if (error) {
    return absl::InternalError(absl::StrCat("cannot walk ", release_dir, ": ", error.message()));
  }
  std::sort(entries.begin(), entries.end());
  std::string all;
  for (const std::string& entry : entries) absl::StrAppend(&all, entry, "\n");
  return text::Sha256Hex(all);
}

}  // namespace pyservice::agent
