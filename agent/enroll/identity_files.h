// The host's credentials on disk, in STATE_DIR/tls/: host.key (0600),
// host.crt and ca.crt (the controller's agent CA, kept for reference and
// tools: the agent verifies the controller by tls_ca, not by this).
//
// The key and its certificate must change together, but are two files. A
// replacement therefore stages the new key first (host.key.new), then
// writes the certificate, then the key; a crash anywhere leaves either the
// old pair, or a staged key that matches host.crt, which
// RecoverInterruptedReplacement() puts in place. Every file is written
// atomically (temporary file created O_EXCL and 0600, fsync, rename), so
// the key is never readable by others, not even for a moment.
#ifndef PYSERVICE_AGENT_ENROLL_IDENTITY_FILES_H_
#define PYSERVICE_AGENT_ENROLL_IDENTITY_FILES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace pyservice::agent {

struct IdentityFiles {
  explicit IdentityFiles(const std::string& state_dir);

  std::string state_dir;
  std::string dir;         // STATE_DIR/tls
  std::string key;         // host.key
  std::string cert;        // host.crt
  std::string ca;          // ca.crt
  std::string staged_key;  // host.key.new, only during a replacement
  // SHA-256 of the last enrollment token the controller answered for
  // (enrolled or refused): a token file holding another one is new.
  std::string tried_token;  // enrollment-token.sha256
};

// Creates STATE_DIR and STATE_DIR/tls (0700) when missing.
absl::Status CreateIdentityDir(const IdentityFiles& files);

// Makes `key_pem` and `cert_pem` the host's key and certificate, crash-safe
// (see above).
absl::Status ReplaceKeyAndCertificate(const IdentityFiles& files,
                                      absl::string_view key_pem,
                                      absl::string_view cert_pem);

// Writes ca.crt.
absl::Status WriteAgentCa(const IdentityFiles& files, absl::string_view ca_pem);

// Finishes or discards a replacement a crash interrupted: a staged key that
// belongs to host.crt becomes host.key, any other is removed. OK when none
// was interrupted.
absl::Status RecoverInterruptedReplacement(const IdentityFiles& files);

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_ENROLL_IDENTITY_FILES_H_
