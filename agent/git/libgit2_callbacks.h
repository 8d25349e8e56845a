// The callbacks libgit2 calls during one fetch: ssh credentials, the ssh host
// key check and progress (where the fetch deadline is enforced). Internal to
// Libgit2Fetcher; in a header of its own so tests can drive the policies
// without an ssh server.
#ifndef PYSERVICE_AGENT_GIT_LIBGIT2_CALLBACKS_H_
#define PYSERVICE_AGENT_GIT_LIBGIT2_CALLBACKS_H_

#include <git2.h>

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace pyservice::agent::libgit2 {

// What the callbacks of one fetch share. libgit2 only sees the integer a
// callback returns; `refusal` keeps the reason, and the fetcher reports it
// instead of libgit2's generic message.
struct RemoteCallbackState {
  std::string display_url;   // the remote, credentials redacted (RedactUrlCredentials)
  std::string ssh_key_path;  // what libssh2 opens; empty: no key configured
  std::string ssh_key_name;  // the key's path for messages
  // Accept-new store for ssh host keys (known_hosts.h); empty accepts any
  // key without remembering it.
  std::string known_hosts_path;
  std::string known_hosts_name;  // KnownHostsNameForUrl(repo url)
  absl::Time deadline = absl::InfiniteFuture();

  int key_attempts = 0;
  absl::Status refusal;  // OK until a callback fails the fetch
};

// Points `callbacks` at the functions below with `state` as their payload.
// `state` must outlive the fetch.
void SetRemoteCallbacks(RemoteCallbackState& state, git_remote_callbacks& callbacks);

// git_credential_acquire_cb. Offers the configured key file once (user from
// the URL, else "git"): libgit2 asks again after every rejected attempt and
// would loop forever on a wrong key, so the second request is refused with
// PERMISSION_DENIED. Usernames are answered without counting as an attempt.
// Nothing but ssh keys is offered (no passwords, no agent).
int AcquireCredentials(git_credential** out, const char* url, const char* username_from_url,
                       unsigned int allowed_types, void* payload);

// git_transport_certificate_check_cb. TLS certificates are left to libgit2
// (GIT_PASSTHROUGH: valid ones pass, invalid ones fail). An ssh host key that
// libgit2 already matched in ~/.ssh/known_hosts passes; any other goes
// through the accept-new store, which refuses a changed key
// (FAILED_PRECONDITION).
int CheckCertificate(git_cert* cert, int valid, const char* host, void* payload);

// git_indexer_progress_cb: aborts the fetch with UNAVAILABLE once the deadline
// has passed.
int CheckProgress(const git_indexer_progress* stats, void* payload);

}  // namespace pyservice::agent::libgit2

#endif  // PYSERVICE_AGENT_GIT_LIBGIT2_CALLBACKS_H_
