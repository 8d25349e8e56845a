// The keys that protect secrets in the controller, derived from the one
// secrets key file (key_file.h). Each use has its own subkey (HKDF-SHA256
// with its own info string), so the key that encrypts stored specs is never
// also the one that fingerprints secrets for display.
#ifndef PYSERVICE_CONTROLLER_SECRETS_SECRET_KEYS_H_
#define PYSERVICE_CONTROLLER_SECRETS_SECRET_KEYS_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pyservice::controller {

// The size of the key file's content and of every subkey.
inline constexpr size_t kSecretsKeyBytes = 32;
// The size of SecretKeys::key_id.
inline constexpr size_t kSecretsKeyIdBytes = 8;

struct SecretKeys {
  // AES-256-GCM key of stored specs (store/aes_gcm_spec_sealer.h).
  std::string encryption;
  // HMAC-SHA256 key of secret fingerprints and spec digests
  // (common/spec/fingerprint.h).
  std::string fingerprint;
  // Names the key in what it sealed, so that a blob sealed with another key
  // file is reported as such rather than as damage. Not secret.
  std::string key_id;
};

// The subkeys of `master` (the key file's kSecretsKeyBytes bytes).
// INVALID_ARGUMENT for a master of another size.
absl::StatusOr<SecretKeys> DeriveSecretKeys(absl::string_view master);

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_SECRETS_SECRET_KEYS_H_
