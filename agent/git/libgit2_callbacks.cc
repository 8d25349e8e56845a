#include "agent/git/libgit2_callbacks.h"

#include "absl/strings/str_cat.h"
#include "agent/git/known_hosts.h"
#include "spdlog/spdlog.h"

namespace pyservice::agent::libgit2 {
namespace {

RemoteCallbackState& StateOf(void* payload) {
  return *static_cast<RemoteCallbackState*>(payload);
}

// Records why the fetch stops and returns `code` for libgit2 to pass up. The
// libgit2 message is set too, for anything that logs it, but the fetcher
// reports `refusal`.
int Refuse(RemoteCallbackState& state, absl::Status refusal, int code) {
  git_error_set_str(GIT_ERROR_CALLBACK, std::string(refusal.message()).c_str());
  state.refusal = std::move(refusal);
  return code;
}

// libgit2 1.5 has no connect or read timeouts of its own
// (GIT_OPT_SET_SERVER_TIMEOUT arrived in 1.7), so the deadline is checked
// whenever a callback runs: while a remote sends anything at all, a slow
// fetch ends on time. A remote that goes silent is not caught here; see
// libgit2_fetcher.h.
int CheckDeadline(RemoteCallbackState& state) {
  if (absl::Now() <= state.deadline) return 0;
  return Refuse(state, absl::UnavailableError("the fetch took too long and was abandoned"),
                GIT_EUSER);
}

int CheckSideband(const char* /*text*/, int /*length*/, void* payload) {
  return CheckDeadline(StateOf(payload));
}

}  // namespace

void SetRemoteCallbacks(RemoteCallbackState& state, git_remote_callbacks& callbacks) {
  callbacks.credentials = &AcquireCredentials;
  callbacks.certificate_check = &CheckCertificate;
  callbacks.transfer_progress = &CheckProgress;
  callbacks.sideband_progress = &CheckSideband;
  callbacks.payload = &state;
}

int AcquireCredentials(git_credential** out, const char* /*url*/,
                       const char* username_from_url, unsigned int allowed_types,
                       void* payload) {
  RemoteCallbackState& state = StateOf(payload);
  if (const int expired = CheckDeadline(state); expired != 0) return expired;
  // GitHub, GitLab and Gitea all serve ssh as "git"; the role's URLs are
  // git@host:org/repo.git anyway.
  const char* user =
      (username_from_url != nullptr && *username_from_url != '\0') ? username_from_url : "git";
  if (allowed_types & GIT_CREDENTIAL_USERNAME) {
    return git_credential_username_new(out, user);
  }
  if (!(allowed_types & GIT_CREDENTIAL_SSH_KEY)) {
    return Refuse(state,
                  absl::PermissionDeniedError(
                      "the remote requires credentials other than an ssh key "
                      "(only ssh keys are supported: use an ssh:// or git@host: URL with ssh_key)"),
                  GIT_EAUTH);
  }
  if (state.ssh_key_path.empty()) {
    return Refuse(state,
                  absl::PermissionDeniedError(absl::StrCat(
                      "the remote asks for an ssh key for user ", user,
                      " but the app has none (set ssh_key)")),
                  GIT_EAUTH);
  }
  if (++state.key_attempts > 1) {
    return Refuse(state,
                  absl::PermissionDeniedError(absl::StrCat(
                      "the remote rejected the ssh key ", state.ssh_key_name, " for user ", user)),
                  GIT_EAUTH);
  }
  // Only the path goes to libssh2, which reads the key itself; the public
  // half is derived from the private key.
  return git_credential_ssh_key_new(out, user, /*publickey=*/nullptr,
                                    state.ssh_key_path.c_str(), /*passphrase=*/nullptr);
}

int CheckCertificate(git_cert* cert, int valid, const char* host, void* payload) {
  RemoteCallbackState& state = StateOf(payload);
  if (const int expired = CheckDeadline(state); expired != 0) return expired;
  if (cert == nullptr || cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) return GIT_PASSTHROUGH;
  // libgit2 (1.5.1, CVE-2023-22742) already checked ~/.ssh/known_hosts: a
  // key an operator put there is trusted. `valid` does not tell "unknown"
  // from "listed with another key", so a mismatch there still falls through
  // to our own store.
  if (valid) return 0;
  const std::string name =
      state.known_hosts_name.empty() ? std::string(host != nullptr ? host : "")
                                     : state.known_hosts_name;
  if (state.known_hosts_path.empty()) {
    // The role's behaviour (accept_hostkey: yes): trust any key. Kept only
    // for callers that configure no store.
    spdlog::warn("git: accepting the ssh host key of {} unchecked", name);
    return 0;
  }
  const auto* hostkey = reinterpret_cast<const git_cert_hostkey*>(cert);
  if (!(hostkey->type & GIT_CERT_SSH_RAW) || hostkey->hostkey == nullptr ||
      hostkey->hostkey_len == 0) {
    return Refuse(state,
                  absl::FailedPreconditionError(absl::StrCat(
                      "libgit2 reported no host key for ", name, ", so it cannot be checked")),
                  GIT_ECERTIFICATE);
  }
  const absl::Status verified = KnownHostsFile(state.known_hosts_path)
                                    .Verify(name, absl::string_view(hostkey->hostkey,
                                                                    hostkey->hostkey_len));
  if (!verified.ok()) {
    return Refuse(state, absl::FailedPreconditionError(verified.message()), GIT_ECERTIFICATE);
  }
  return 0;
}

int CheckProgress(const git_indexer_progress* /*stats*/, void* payload) {
  return CheckDeadline(StateOf(payload));
}

}  // namespace pyservice::agent::libgit2
