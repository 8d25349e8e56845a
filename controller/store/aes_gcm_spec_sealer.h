// SpecSealer with AES-256-GCM (OpenSSL EVP), the controller's encryption
// subkey (controller/secrets/secret_keys.h).
//
// A sealed blob, format version 1:
//   magic (4) | version 0x01 | key id (8) | nonce (12) | ciphertext | tag (16)
// The nonce is random per Seal: a revision is sealed again when the store
// is migrated, and a counter would have to survive restarts and copies of
// the file; 96 random bits stay collision-free far beyond a store's size.
// The additional data binds everything before the nonce plus the app name
// and revision number, so a blob moved to another row, or relabelled with
// another key id, fails authentication. The key id (not secret) tells a
// wrong key file from damage.
#ifndef PYSERVICE_CONTROLLER_STORE_AES_GCM_SPEC_SEALER_H_
#define PYSERVICE_CONTROLLER_STORE_AES_GCM_SPEC_SEALER_H_

#include <optional>
#include <string>

#include "controller/secrets/secret_keys.h"
#include "controller/store/spec_sealer.h"

namespace pyservice::controller {

class AesGcmSpecSealer final : public SpecSealer {
 public:
  // `key_file` only names the key in errors. `also_opens`: the keys of the
  // previous key file, while a rotation seals everything again with `keys`.
  AesGcmSpecSealer(const SecretKeys& keys, std::string key_file,
                   std::optional<SecretKeys> also_opens = std::nullopt);

  absl::StatusOr<std::string> Seal(absl::string_view app, uint32_t number,
                                   absl::string_view plaintext) const override;
  absl::StatusOr<std::string> Open(absl::string_view app, uint32_t number,
                                   absl::string_view sealed) const override;

 private:
  // The encryption key to open blobs sealed with `key_id`, or null.
  const std::string* KeyFor(absl::string_view key_id) const;

  std::string key_;
  std::string key_id_;
  std::string key_file_;
  std::optional<SecretKeys> also_opens_;
};

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_STORE_AES_GCM_SPEC_SEALER_H_
