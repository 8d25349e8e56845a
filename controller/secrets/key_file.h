// The controller's secrets key file: kSecretsKeyBytes random bytes, the
// root of every key that protects secrets in the controller
// (secret_keys.h): the encryption of stored specs and the keyed
// fingerprints shown in their place.
//
// It lives outside the data dir: the point is that a copy of the data dir
// (a stolen disk, a backup) alone reveals no secret. Without it no stored
// spec can be read, so it is backed up too, apart from the data dir.
#ifndef PYSERVICE_CONTROLLER_SECRETS_KEY_FILE_H_
#define PYSERVICE_CONTROLLER_SECRETS_KEY_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "controller/secrets/secret_keys.h"

namespace pyservice::controller {

inline constexpr char kDefaultSecretsKeyFile[] = "/etc/pyservice-controller/secrets.key";

// Reads the key file at `path` and derives its keys. The file must be a
// regular file of exactly kSecretsKeyBytes bytes that neither group nor
// others may read; otherwise FAILED_PRECONDITION naming the path (never the
// content). A missing file is created first: missing parent directories with
// mode 0700, the file with mode 0600 and bytes from OpenSSL's CSPRNG, synced
// to disk, with a warning that it must be backed up. FAILED_PRECONDITION,
// before anything is created, when `path` is inside `data_dir`.
absl::StatusOr<SecretKeys> LoadOrCreateSecretsKey(const std::string& path,
                                                  const std::string& data_dir);

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_SECRETS_KEY_FILE_H_
