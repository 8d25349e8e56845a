#include "agent/git/tree_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "agent/git/libgit2_handles.h"
#include "spdlog/spdlog.h"

namespace pyservice::agent::libgit2 {
namespace {

struct WalkState {
  git_repository* repo;
  const Dir* dir;
  absl::Status status;
};

absl::Status CheckName(absl::string_view root, absl::string_view name) {
  if (name.empty() || name == "." || name == ".." || absl::EqualsIgnoreCase(name, ".git") ||
      absl::StrContains(name, '/')) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the repository contains an entry that cannot be checked out safely: \"", root, name,
        "\""));
  }
  return absl::OkStatus();
}

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::FailedPreconditionError(
      absl::StrCat("cannot ", what, " ", path, ": ", std::strerror(errno)));
}

absl::StatusOr<BlobPtr> LookupBlob(git_repository* repo, const git_tree_entry& entry,
                                   absl::string_view path) {
  git_blob* blob = nullptr;
  if (git_blob_lookup(&blob, repo, git_tree_entry_id(&entry)) < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path, " from the mirror: ", LastErrorMessage()));
  }
  return BlobPtr(blob);
}

// O_EXCL|O_NOFOLLOW: the file must be new, and a symlink planted under its
// name is never followed. `parent` is a directory this walk just created,
// opened without following symlinks.
absl::Status WriteFile(const Dir& parent, const std::string& name, const std::string& path,
                       absl::string_view content, mode_t mode) {
  const int fd = openat(parent.fd(), name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError("create", path);
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  // fchmod: the mode given to open() is cut down by the umask.
  const bool ok = written == content.size() && fchmod(fd, mode) == 0;
  const int saved_errno = errno;
  const bool closed = close(fd) == 0;
  if (!ok) errno = saved_errno;
  if (!ok || !closed) return ErrnoError("write", path);
  return absl::OkStatus();
}

absl::Status WriteEntry(WalkState& state, absl::string_view root, const git_tree_entry& entry) {
  const absl::string_view name = git_tree_entry_name(&entry);
  if (absl::Status checked = CheckName(root, name); !checked.ok()) return checked;
  const std::string relative = absl::StrCat(root, name);
  const std::string path = absl::StrCat(state.dir->path(), "/", relative);
  absl::StatusOr<Dir> parent = state.dir->OpenBeneath(root);
  if (!parent.ok()) return parent.status();
  const std::string entry_name(name);
  switch (git_tree_entry_filemode(&entry)) {
    case GIT_FILEMODE_TREE:
      // mkdir fails on anything already there, symlinks included.
      if (mkdirat(parent->fd(), entry_name.c_str(), 0755) != 0) {
        return ErrnoError("create directory", path);
      }
      return parent->EnsureDirectory(entry_name, 0755, std::nullopt).status();
    case GIT_FILEMODE_BLOB:
    case GIT_FILEMODE_BLOB_EXECUTABLE: {
      absl::StatusOr<BlobPtr> blob = LookupBlob(state.repo, entry, relative);
      if (!blob.ok()) return blob.status();
      const mode_t mode =
          git_tree_entry_filemode(&entry) == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;
      return WriteFile(*parent, entry_name, path,
                       absl::string_view(static_cast<const char*>(git_blob_rawcontent(blob->get())),
                                         static_cast<size_t>(git_blob_rawsize(blob->get()))),
                       mode);
    }
    case GIT_FILEMODE_LINK: {
      absl::StatusOr<BlobPtr> blob = LookupBlob(state.repo, entry, relative);
      if (!blob.ok()) return blob.status();
      const std::string target(static_cast<const char*>(git_blob_rawcontent(blob->get())),
                               static_cast<size_t>(git_blob_rawsize(blob->get())));
      if (target.empty() || absl::StrContains(target, '\0')) {
        return absl::InvalidArgumentError(
            absl::StrCat("the repository contains an invalid symlink: \"", relative, "\""));
      }
      // The target is stored as given, like git does; it may point anywhere,
      // so later steps must not follow links blindly (lchown, not chown).
      if (symlinkat(target.c_str(), parent->fd(), entry_name.c_str()) != 0) {
        return ErrnoError("create symlink", path);
      }
      return absl::OkStatus();
    }
    case GIT_FILEMODE_COMMIT:
      spdlog::warn("git: skipping submodule {} (submodules are not fetched)", relative);
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "the repository contains an entry of unknown mode ",
          absl::Hex(git_tree_entry_filemode_raw(&entry)), ": \"", relative, "\""));
  }
}

int VisitEntry(const char* root, const git_tree_entry* entry, void* payload) {
  WalkState& state = *static_cast<WalkState*>(payload);
  state.status = WriteEntry(state, root, *entry);
  return state.status.ok() ? 0 : GIT_EUSER;
}

}  // namespace

absl::Status WriteTree(git_repository& repo, const git_tree& tree, const Dir& dir) {
  WalkState state{&repo, &dir, absl::OkStatus()};
  // Pre-order: a directory is created before anything inside it.
  const int rc = git_tree_walk(&tree, GIT_TREEWALK_PRE, &VisitEntry, &state);
  if (!state.status.ok()) return state.status;
  if (rc < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the tree from the mirror: ", LastErrorMessage()));
  }
  return absl::OkStatus();
}

}  // namespace pyservice::agent::libgit2
