// `pyservice-controller migrate --from sqlite:DIR --to etcd://...`: copies
// a SQLite store's Store state into an empty etcd store, keeping every
// revision number, time, rollout id and host as it is, so a controller on
// etcd carries on exactly where the SQLite one stopped (active rollouts
// included: the new leader resumes them). Specs are opened with the
// secrets key and sealed again with the same key.
//
//
// The access state comes along: operator tokens (ids, secret hashes,
// revocations), enrollment tokens, enrolled hosts and certificates, so
// every token and agent certificate of the SQLite controller works on
// etcd; and the agents' CA in `ca_dir` (the data dir's ca/ or --ca-dir),
// its key sealed with the secrets key, when there is one.
#ifndef PYSERVICE_CONTROLLER_ETCD_MIGRATE_H_
#define PYSERVICE_CONTROLLER_ETCD_MIGRATE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "controller/store/etcd_store.h"
#include "controller/store/sqlite_store.h"

namespace pyservice::controller {

struct MigrationCounts {
  size_t apps = 0;
  size_t revisions = 0;
  size_t rollouts = 0;
  size_t hosts = 0;
  size_t tokens = 0;
  size_t enrollment_tokens = 0;
  size_t enrolled_hosts = 0;
  size_t certificates = 0;
  // Whether a CA was found in the CA dir and copied.
  bool ca = false;
};

// FAILED_PRECONDITION, writing nothing, when the etcd store is not empty
// (a second migrate, or one onto a live cluster). Run it with the
// controllers stopped: what the source gets meanwhile is not copied.
// Errors in the CA dir (a key others may read, a key without its
// certificate) stop it before anything is written.
absl::StatusOr<MigrationCounts> MigrateSqliteToEtcd(SqliteStore& from, const std::string& ca_dir,
                                                    EtcdStore& to);

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_ETCD_MIGRATE_H_
