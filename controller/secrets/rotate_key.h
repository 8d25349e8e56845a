// Rotation of the secrets key file (key_file.h): every stored spec sealed
// again and every revision digest keyed again with a new key, then the new
// key file put where the old one was. The controller must be stopped first:
// a running one keeps the old key in memory.
//
// Crash-safe: the new key is written next to the old one (FILE.next), and
// the store is sealed again in one transaction by a sealer that opens with
// either key; only then is FILE kept as FILE.previous and FILE.next renamed
// over FILE. Run again after an interruption, it takes FILE.next and
// finishes. FILE exists at every step, so no start can create a fresh key.
//
// On etcd (RotateSecretsKeyOnEtcd) the same, but the values are sealed
// again one Txn each, not in one transaction: after an interruption etcd
// holds values of both keys. A re-run opens both (FILE and FILE.next) and
// finishes; a controller on etcd refuses to start while FILE.next exists.
#ifndef PYSERVICE_CONTROLLER_SECRETS_ROTATE_KEY_H_
#define PYSERVICE_CONTROLLER_SECRETS_ROTATE_KEY_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "common/time/clock.h"
#include "controller/etcd/etcd_client.h"

namespace pyservice::controller {

struct KeyRotation {
  // How many stored specs were sealed again.
  size_t specs = 0;
  // Where the old key is now: backups taken before the rotation need it.
  std::string previous_key_file;
};

// FAILED_PRECONDITION when `key_file` does not exist (nothing to rotate) or
// the store does not open with it (nor with FILE.next); the errors of
// LoadOrCreateSecretsKey and SqliteStore::Open otherwise.
absl::StatusOr<KeyRotation> RotateSecretsKey(const std::string& key_file,
                                             const std::string& data_dir, const Clock& clock);

// The same for a cluster on etcd, whose controllers are all stopped:
// FAILED_PRECONDITION, before anything is written (FILE.next included),
// while a controller leads (etcd::CheckNoLeader); every value is sealed
// again by a Txn that also requires that no controller leads, so one that
// starts meanwhile stops the rotation (run it again once that controller is
// stopped). The errors of RotateSecretsKey otherwise.
absl::StatusOr<KeyRotation> RotateSecretsKeyOnEtcd(const std::string& key_file,
                                                   const std::string& data_dir,
                                                   etcd::EtcdClient& client, const Clock& clock);

// For the error of a store that does not open with `key_file`, and the
// refusal to start on etcd: a hint to finish an interrupted rotation when
// FILE.next exists, else "".
std::string InterruptedRotationHint(const std::string& key_file);

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_SECRETS_ROTATE_KEY_H_
