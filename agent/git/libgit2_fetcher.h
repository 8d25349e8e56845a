// GitFetcher over libgit2 (no git binary on hosts): a bare mirror per app,
// fetched incrementally, and exports written straight from the object
// database.
//
// Mirror: every branch and tag of the remote ("+refs/heads/*:refs/heads/*",
// "+refs/tags/*:refs/tags/*", forced and pruned), so a force-moved or deleted
// tag is seen as the remote has it now. The mirror's "origin" follows the
// request's URL.
//
// Resolution order, like git's own for a bare name: tag, branch, then a commit
// id or unique abbreviation (at least 4 hex digits) among the mirror's
// objects. A full 40-digit commit id already in the mirror is returned
// without contacting the remote: a commit never changes, and a rollback to a
// deployed commit then works while the git server is down.
//
// Status codes beyond the interface's: INVALID_ARGUMENT for a URL or ref that
// spec validation would refuse and for an ambiguous abbreviation;
// FAILED_PRECONDITION for local problems an operator must fix (unreadable key
// file, unusable mirror, a changed ssh host key).
//
// ssh: the key file is offered once (see libgit2_callbacks.h); host keys
// follow accept-new (known_hosts.h) in `known_hosts_path`.
//
// Timeouts: libgit2 1.5 has no connect or read timeout option
// (GIT_OPT_SET_SERVER_CONNECT_TIMEOUT / GIT_OPT_SET_SERVER_TIMEOUT arrived in
// 1.7). A refused connection fails at once; a host that drops packets fails
// when the kernel gives up connecting (net.ipv4.tcp_syn_retries: ~2 min by
// default). `fetch_timeout` bounds a fetch while the remote sends anything
// (it is checked in libgit2's progress callbacks), but a server that accepts
// the connection and then goes silent blocks the calling thread until TCP
// gives up. Callers that must stay responsive run Fetch on a worker thread.
//
// Thread safety: calls for different mirrors may run concurrently; calls for
// the same mirror must not overlap (libgit2 would fail on the ref locks).
#ifndef PYSERVICE_AGENT_GIT_LIBGIT2_FETCHER_H_
#define PYSERVICE_AGENT_GIT_LIBGIT2_FETCHER_H_

#include <string>

#include "absl/time/time.h"
#include "agent/git/git_fetcher.h"

namespace pyservice::agent {

struct Libgit2FetcherOptions {
  // Accept-new store for ssh host keys. Empty: "known_hosts" in the parent
  // of each request's mirror_dir (per app with STATE_DIR/apps/APP/mirror.git;
  // set a path such as STATE_DIR/known_hosts to share one across apps).
  std::string known_hosts_path;
  // Upper bound for one Fetch while data flows (see above).
  absl::Duration fetch_timeout = absl::Minutes(10);
};

class Libgit2Fetcher final : public GitFetcher {
 public:
  explicit Libgit2Fetcher(Libgit2FetcherOptions options = Libgit2FetcherOptions());

  absl::StatusOr<std::string> Fetch(const FetchRequest& request) override;

  // Writes into a sibling "DEST.partial-XXXXXX" directory, syncs it and
  // renames it to `dest_dir`: dest_dir either appears complete or not at
  // all. ALREADY_EXISTS when dest_dir exists; FAILED_PRECONDITION when its
  // parent does not; NOT_FOUND when the commit is not in the mirror. A crash
  // can leave a *.partial-* directory behind for the caller to remove.
  absl::Status Export(const std::string& mirror_dir, const std::string& commit,
                      const std::string& dest_dir) override;

 private:
  Libgit2FetcherOptions options_;
};

// libgit2 1.5.1 reads $HOME/.ssh/known_hosts before every ssh fetch and
// fails the fetch ("error loading known_hosts") when HOME is unset
// (libgit2/libgit2#6550), as it is for a system service: systemd sets HOME
// only for services with User=. This sets HOME, when it is unset or not a
// directory, to the user's home from the password database, or to "/" (a
// missing known_hosts file is fine: our own host key check decides). It
// changes the environment: call it at the start of main(), before any
// thread exists.
void SetHomeForLibgit2();

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_GIT_LIBGIT2_FETCHER_H_
