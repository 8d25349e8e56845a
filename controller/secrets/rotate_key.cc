#include "controller/secrets/rotate_key.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <memory>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/spec/fingerprint.h"
#include "common/status/status_macros.h"
#include "controller/secrets/key_file.h"
#include "controller/etcd/leader_election.h"
#include "controller/store/aes_gcm_spec_sealer.h"
#include "controller/store/etcd_store.h"
#include "controller/store/sqlite_store.h"
#include "controller/store/stored_spec.h"

namespace pyservice::controller {
namespace {

std::string NextKeyFile(const std::string& key_file) { return key_file + ".next"; }

absl::Status Errno(absl::string_view what, int err) {
  return absl::FailedPreconditionError(
      absl::StrCat(what, ": ", std::error_code(err, std::generic_category()).message()));
}

// FILE becomes FILE.previous and FILE.next becomes FILE; FILE exists all
// along (a hard link, then an atomic rename over it).
absl::Status SwapKeyFiles(const std::string& key_file, const std::string& previous) {
  if (unlink(previous.c_str()) != 0 && errno != ENOENT) {
    return Errno(absl::StrCat("remove ", previous), errno);
  }
  if (link(key_file.c_str(), previous.c_str()) != 0) {
    return Errno(absl::StrCat("keep the old key as ", previous), errno);
  }
  if (rename(NextKeyFile(key_file).c_str(), key_file.c_str()) != 0) {
    return Errno(absl::StrCat("put ", NextKeyFile(key_file), " in place of ", key_file), errno);
  }
  return absl::OkStatus();
}

// What a rotation seals again with `sealer` (which opens with the old key
// and the new one, and seals with the new), each revision's digest keyed
// again by `rekey`; returns how many specs.
using ResealStore = std::function<absl::StatusOr<size_t>(
    const SpecSealer& sealer, const std::function<absl::Status(StoredRevision&)>& rekey)>;

absl::StatusOr<KeyRotation> Rotate(const std::string& key_file, const std::string& data_dir,
                                   const ResealStore& reseal) {
  struct stat st;
  if (stat(key_file.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("no secrets key file ", key_file, " to rotate"));
  }
  ASSIGN_OR_RETURN(const SecretKeys old_keys, LoadOrCreateSecretsKey(key_file, data_dir));
  ASSIGN_OR_RETURN(const SecretKeys new_keys,
                   LoadOrCreateSecretsKey(NextKeyFile(key_file), data_dir));
  const AesGcmSpecSealer sealer(new_keys, NextKeyFile(key_file), old_keys);
  const spec::SecretFingerprinter fingerprints(new_keys.fingerprint);
  KeyRotation rotation;
  ASSIGN_OR_RETURN(rotation.specs, reseal(sealer, KeyDigestOf(fingerprints)));
  rotation.previous_key_file = key_file + ".previous";
  RETURN_IF_ERROR(SwapKeyFiles(key_file, rotation.previous_key_file));
  return rotation;
}

}  // namespace

absl::StatusOr<KeyRotation> RotateSecretsKey(const std::string& key_file,
                                             const std::string& data_dir, const Clock& clock) {
  return Rotate(key_file, data_dir,
                [&](const SpecSealer& sealer, const std::function<absl::Status(StoredRevision&)>&
                                                  rekey) -> absl::StatusOr<size_t> {
                  ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> store,
                                   SqliteStore::Open(data_dir, clock, sealer, rekey));
                  return store->ResealAll(rekey);
                });
}

absl::StatusOr<KeyRotation> RotateSecretsKeyOnEtcd(const std::string& key_file,
                                                   const std::string& data_dir,
                                                   etcd::EtcdClient& client, const Clock& clock) {
  RETURN_IF_ERROR(etcd::CheckNoLeader(client, EtcdStore::kDefaultLeaderKey));
  return Rotate(key_file, data_dir,
                [&](const SpecSealer& sealer, const std::function<absl::Status(StoredRevision&)>&
                                                  rekey) -> absl::StatusOr<size_t> {
                  ASSIGN_OR_RETURN(std::unique_ptr<EtcdStore> store,
                                   EtcdStore::Open(client, clock, sealer));
                  return store->ResealAll(rekey, EtcdStore::kDefaultLeaderKey);
                });
}

std::string InterruptedRotationHint(const std::string& key_file) {
  struct stat st;
  if (stat(NextKeyFile(key_file).c_str(), &st) != 0) return "";
  return absl::StrCat("; ", NextKeyFile(key_file),
                      " exists: a key rotation was interrupted, run `pyservice-controller "
                      "rotate-secrets-key` again to finish it");
}

}  // namespace pyservice::controller
