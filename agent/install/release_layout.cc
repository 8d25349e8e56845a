#include "agent/install/release_layout.h"

#include <sys/stat.h>

#include <algorithm>
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

namespace {

// A release's own files may be large (data files in the repo); reading one
// is still bounded, so a tree the app user grew by hand fails cleanly.
constexpr size_t kMaxReleaseFileBytes = size_t{1} << 30;

bool Generated(const std::string& name) {
  return name == ".venv" || name == "__pycache__" || name == "build" ||
         absl::EndsWith(name, ".egg-info") || name == kEnvironmentMarker;
}

// Appends one entry per path below `dir` (named `prefix`...) to `entries`.
// Through fds, never following a symlink: the tree is the app user's.
absl::Status DigestEntries(const Dir& dir, const std::string& prefix,
                           std::vector<std::string>& entries) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, dir.List());
  for (const std::string& name : names) {
    if (Generated(name)) continue;
    const std::string relative = absl::StrCat(prefix, name);
    ASSIGN_OR_RETURN(std::optional<struct stat> info, dir.Stat(name));
    if (!info) continue;  // gone meanwhile
    if (S_ISLNK(info->st_mode)) {
      ASSIGN_OR_RETURN(std::optional<std::string> target, dir.ReadSymlink(name));
      entries.push_back(absl::StrCat(relative, " link ", target.value_or("")));
    } else if (S_ISREG(info->st_mode)) {
      ASSIGN_OR_RETURN(std::optional<std::string> content,
                       dir.ReadFile(name, kMaxReleaseFileBytes));
      entries.push_back(absl::StrCat(relative, " file ", (info->st_mode & 0111) ? "x " : "- ",
                                     text::Sha256Hex(content.value_or(""))));
    } else if (S_ISDIR(info->st_mode)) {
      entries.push_back(absl::StrCat(relative, " dir"));
      ASSIGN_OR_RETURN(const Dir child, dir.OpenBeneath(name));
      RETURN_IF_ERROR(DigestEntries(child, absl::StrCat(relative, "/"), entries));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> TreeDigest(const std::string& release_dir) {
  ASSIGN_OR_RETURN(const Dir root, Dir::Open(release_dir));
  std::vector<std::string> entries;
  RETURN_IF_ERROR(DigestEntries(root, "", entries));
  std::sort(entries.begin(), entries.end());
  std::string all;
  for (const std::string& entry : entries) absl::StrAppend(&all, entry, "\n");
  return text::Sha256Hex(all);
}

}  // namespace pyservice::agent
