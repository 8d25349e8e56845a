// Writing a git tree out as plain files: what Export does instead of a
// checkout, because a release directory needs no index, no .git and no
// working-tree bookkeeping.
#ifndef PYSERVICE_AGENT_GIT_TREE_WRITER_H_
#define PYSERVICE_AGENT_GIT_TREE_WRITER_H_

#include <git2.h>

#include <string>

#include "absl/status/status.h"
#include "common/file/safe_dir.h"

namespace pyservice::agent::libgit2 {

// Writes `tree` (from `repo`) into `dir`, an existing empty directory:
// directories 0755, files 0644 or 0755 (git's only two file modes),
// symlinks as symlinks. Submodules are skipped with a warning: their code
// is in another repository, as with a plain `git clone`.
//
// A repository is untrusted input. Nothing is written outside `dir`:
// entries named "", ".", "..", ".git" (any case) or containing '/' are
// refused with INVALID_ARGUMENT naming the path, as git refuses to check
// them out; nothing is ever opened through a symlink, and an entry that
// collides with one written before (a duplicate name) fails instead of
// overwriting it. Everything is created relative to `dir`'s fd, each
// subdirectory opened O_NOFOLLOW: `dir` may sit in a tree its owner can
// change while we write (the app's releases directory). On error `dir` is
// left partly written; the caller removes it.
absl::Status WriteTree(git_repository& repo, const git_tree& tree, const Dir& dir);

}  // namespace pyservice::agent::libgit2

#endif  // PYSERVICE_AGENT_GIT_TREE_WRITER_H_
