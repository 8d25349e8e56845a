// GitFetcher that runs each fetch in a child process, so that a fetch can be
// killed: libgit2 1.5 has no network timeouts (libgit2_fetcher.h), and a
// remote that accepts the connection and then goes silent — before its first
// byte or mid-transfer — would block a thread of ours for as long as TCP
// keeps the connection, and no cancel could reach it. A child process is
// killed on its deadline or on cancel (common/process/subprocess.h), whatever
// libgit2 is doing, DNS lookups and ssh handshakes included.
//
// The child is the agent binary itself (`program`, /proc/self/exe: the same
// build even after the file was replaced by an upgrade) with the hidden
// argument kFetchChildArgument. The request (URL, credentials included)
// goes over the child's stdin as a v1::GitFetchRequest and the answer comes
// back on its stdout: nothing secret on its command line or in its
// environment. The child runs Libgit2Fetcher::Fetch, so resolution, mirror
// layout and status codes are Libgit2Fetcher's; this adds
//  * DEADLINE_EXCEEDED "fetch of REPO timed out after 10m" (request.timeout),
//  * ABORTED "fetch of REPO canceled" (request.canceled),
// REPO with its credentials redacted. Export reads only the local mirror and
// runs in-process.
//
// A killed fetch can leave libgit2 lock files in the mirror
// (refs/heads/x.lock); libgit2 fails the next fetch on them, so stale ones
// are removed before each fetch (fetches of one mirror never overlap).
#ifndef PYSERVICE_AGENT_GIT_CHILD_PROCESS_FETCHER_H_
#define PYSERVICE_AGENT_GIT_CHILD_PROCESS_FETCHER_H_

#include <string>

#include "agent/git/git_fetcher.h"
#include "agent/git/libgit2_fetcher.h"
#include "agent/host/process_runner.h"

namespace pyservice::agent {

// argv[1] of the fetch child: `pyservice-agent __git-fetch`.
inline constexpr char kFetchChildArgument[] = "__git-fetch";

struct ChildProcessFetcherOptions {
  // The agent binary, started with kFetchChildArgument.
  std::string program = "/proc/self/exe";
  // Passed to the child's Libgit2Fetcher.
  std::string known_hosts_path;
};

class ChildProcessGitFetcher final : public GitFetcher {
 public:
  ChildProcessGitFetcher(ProcessRunner& processes, ChildProcessFetcherOptions options);

  absl::StatusOr<std::string> Fetch(const FetchRequest& request) override;
  absl::Status Export(const std::string& mirror_dir, const std::string& commit,
                      const std::string& dest_dir) override;

 private:
  ProcessRunner& processes_;
  const ChildProcessFetcherOptions options_;
  Libgit2Fetcher local_;
};

// The child's side: reads a v1::GitFetchRequest from stdin until EOF, runs
// the fetch and writes a v1::GitFetchReply to stdout. Returns the exit
// status (0 when a reply was written, whatever the fetch's outcome). For
// main.cc, before anything else runs.
int RunFetchChild();

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_GIT_CHILD_PROCESS_FETCHER_H_
