// What every libgit2 mechanism in agent/git/ shares: the library's one-time
// setup, owning pointers for its objects, and its last error as text.
#ifndef PYSERVICE_AGENT_GIT_LIBGIT2_HANDLES_H_
#define PYSERVICE_AGENT_GIT_LIBGIT2_HANDLES_H_

#include <git2.h>

#include <memory>
#include <string>

namespace pyservice::agent::libgit2 {

// Runs git_libgit2_init() and the process-wide options once, however many
// threads call it first. Every entry point into libgit2 calls this.
void EnsureInitialized();

// The message of the calling thread's last libgit2 error, or "unknown
// libgit2 error" when libgit2 left none.
std::string LastErrorMessage();

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* object) const {
    Free(object);
  }
};

using RepositoryPtr = std::unique_ptr<git_repository, Deleter<&git_repository_free>>;
using RemotePtr = std::unique_ptr<git_remote, Deleter<&git_remote_free>>;
using ReferencePtr = std::unique_ptr<git_reference, Deleter<&git_reference_free>>;
using ObjectPtr = std::unique_ptr<git_object, Deleter<&git_object_free>>;
using CommitPtr = std::unique_ptr<git_commit, Deleter<&git_commit_free>>;
using TreePtr = std::unique_ptr<git_tree, Deleter<&git_tree_free>>;
using BlobPtr = std::unique_ptr<git_blob, Deleter<&git_blob_free>>;

// "0123…" (40 hex digits) for `oid`.
std::string OidToHex(const git_oid& oid);

}  // namespace pyservice::agent::libgit2

#endif  // PYSERVICE_AGENT_GIT_LIBGIT2_HANDLES_H_
