// Getting an app's code at a tag, branch or commit, as an interface: the real
// one uses libgit2 (libgit2_fetcher.h), tests use
// tests/testing/fake_git_fetcher.h.
#ifndef PYSERVICE_AGENT_GIT_GIT_FETCHER_H_
#define PYSERVICE_AGENT_GIT_GIT_FETCHER_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pyservice::agent {

struct FetchRequest {
  std::string repo_url;  // validated by spec::ValidateRepoUrl
  std::string ref;       // tag, branch or (abbreviated) commit id
  // Where the agent keeps a bare mirror of the repo between deploys, so a
  // re-deploy fetches only what is new. Created if missing.
  std::string mirror_dir;
  // Private key file for ssh remotes (0600, written by the agent); empty for
  // none. Its content never appears in logs or errors.
  std::string ssh_key_path;
  // The fetch is abandoned after this long, also when the remote has gone
  // silent: DEADLINE_EXCEEDED "fetch of REPO timed out after 10m".
  absl::Duration timeout = absl::Minutes(10);
  // Asked while the fetch runs; once true it is abandoned at once with
  // ABORTED "fetch of REPO canceled". Empty: never.
  std::function<bool()> canceled;
};

class GitFetcher {
 public:
  virtual ~GitFetcher() = default;

  // Fetches `request.ref` into the mirror and returns the full commit id it
  // resolves to (a tag is peeled to its commit). UNAVAILABLE when the remote
  // cannot be reached (retry), NOT_FOUND when the ref does not exist there,
  // PERMISSION_DENIED for authentication failures.
  virtual absl::StatusOr<std::string> Fetch(const FetchRequest& request) = 0;

  // Writes the tree of `commit` (from the mirror) into `dest_dir`, which must
  // not exist yet; no .git directory is left in it. The commit must have been
  // fetched into `mirror_dir` before.
  virtual absl::Status Export(const std::string& mirror_dir, const std::string& commit,
                              const std::string& dest_dir) = 0;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_GIT_GIT_FETCHER_H_
