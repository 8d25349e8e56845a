// ssh host keys for git remotes, with OpenSSH's "accept-new" policy
// (StrictHostKeyChecking=accept-new): the first key a server presents is
// remembered, and from then on only that key is accepted.
//
// Why not plain accept-everything (what the role does with
// accept_hostkey: yes): that lets anyone on the path impersonate the git
// server on every deploy. Why not strict checking: the agent cannot ask
// anybody, and requiring operators to pre-seed every host's known_hosts
// would break the role's "it just clones" behaviour. Accept-new protects all
// deploys after the first.
//
// The file uses OpenSSH's known_hosts format ("NAME KEYTYPE BASE64" lines),
// so `ssh-keygen -F NAME -f FILE` reads it and an operator can pre-seed it or
// delete a line after a legitimate key rotation.
#ifndef PYSERVICE_AGENT_GIT_KNOWN_HOSTS_H_
#define PYSERVICE_AGENT_GIT_KNOWN_HOSTS_H_

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace pyservice::agent {

// The name a known_hosts file lists the server of an ssh remote under:
// "host" for port 22, "[host]:port" otherwise (OpenSSH's convention).
// Accepts ssh://[user@]host[:port]/path and scp-like [user@]host:path.
// Empty when `url` is not an ssh remote.
std::string KnownHostsNameForUrl(absl::string_view url);

// "SHA256:…" (unpadded base64), the fingerprint ssh prints, of a host key in
// ssh wire format.
std::string HostKeyFingerprint(absl::string_view key_blob);

class KnownHostsFile {
 public:
  explicit KnownHostsFile(std::string path) : path_(std::move(path)) {}

  // `key_blob` is the server's public key in ssh wire format (what libssh2
  // reports). OK when `name` is listed with this key, or when `name` is not
  // listed at all: the key is then appended (the file is created 0600 if
  // missing, with its directory). FAILED_PRECONDITION when `name` is listed with other
  // keys only — a reinstalled server or someone in between; the message
  // names both fingerprints and the file to edit. INVALID_ARGUMENT for a
  // blob that is not an ssh key. Safe to call from several threads.
  absl::Status Verify(absl::string_view name, absl::string_view key_blob) const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_GIT_KNOWN_HOSTS_H_
