// Reuse of a release's Python environment by another release of the same
// app whose environment inputs are the same (the environment step's inputs
// digest): a copy of `.venv` that shares the files' data instead of running
// venv and pip again.
//
// A venv names its own location in a few text files: the shebangs of
// bin/ scripts, bin/activate*, pyvenv.cfg, and an editable install names the
// release it was built for (site-packages' __editable__ finder or .pth,
// *.dist-info/direct_url.json). Those files are written anew with the old
// release directory replaced by the new one, so the copy runs the NEW
// release's code. Every other regular file is a reflink (copy-on-write:
// FICLONE) where the file system has them, a hard link otherwise. pip
// never writes into an existing file (it unlinks first, and uninstalls by
// renaming), nor does Python (bytecode is written to a temporary name and
// renamed), so a kept release is not altered through a shared file by
// anything the agent or pip does; a process writing into a hard-linked file
// in place would alter both releases' copies. __pycache__ directories are
// not copied: bytecode records the path it was compiled from, and the new
// release's interpreter writes its own.
//
// The source belongs to the app user, who could change it while root copies
// it: the walk goes through directory descriptors, never follows a symlink,
// reads only regular files opened with O_NOFOLLOW, and creates every entry
// with O_EXCL semantics, so nothing outside the two trees is read or written.
#ifndef PYSERVICE_AGENT_INSTALL_ENVIRONMENT_COPY_H_
#define PYSERVICE_AGENT_INSTALL_ENVIRONMENT_COPY_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/file/file_ops.h"

namespace pyservice::agent {

struct EnvironmentCopyCounts {
  int shared = 0;     // files reflinked or hard-linked
  int rewritten = 0;  // files that named the old release, written anew
};

// Copies FROM_RELEASE/.venv to TO_RELEASE/.venv (which must not exist),
// through TO_RELEASE/.venv.copy renamed into place at the end, so a crash
// never leaves a half copy under the real name. New directories, symlinks
// and rewritten files belong to `owner`; shared files keep their inode.
absl::StatusOr<EnvironmentCopyCounts> CopyEnvironment(const std::string& from_release,
                                                      const std::string& to_release, Owner owner);

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_INSTALL_ENVIRONMENT_COPY_H_
