// Fingerprints of secrets (ssh_key, file contents, !secret config values,
// repo URL credentials): what everyone but agents sees in their place, and
// what the controller's spec digest hashes instead of them. Enough to tell
// that a secret changed; nothing to test guesses against without the
// controller's fingerprint key. (An unkeyed hash would let anyone who can
// read a spec or a digest confirm a guessed short secret offline.)
#ifndef PYSERVICE_COMMON_SPEC_FINGERPRINT_H_
#define PYSERVICE_COMMON_SPEC_FINGERPRINT_H_

#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace pyservice::spec {

class SecretFingerprinter {
 public:
  // `key`: the controller's fingerprint key (SecretKeys::fingerprint,
  // controller/secrets/secret_keys.h), never empty.
  explicit SecretFingerprinter(std::string key) : key_(std::move(key)) {}

  // "hmac-sha256:<64 hex>" of `secret`: the form spec digests hash.
  std::string Full(absl::string_view secret) const;
  // "<secret, N bytes, hmac-sha256:<first 12 hex>>": the form shown.
  std::string Redacted(absl::string_view secret) const;

 private:
  std::string key_;
};

}  // namespace pyservice::spec

#endif  // PYSERVICE_COMMON_SPEC_FINGERPRINT_H_
