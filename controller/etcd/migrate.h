// `pyservice-controller migrate --from sqlite:DIR --to etcd://...`: copies
// a SQLite store's Store state into an empty etcd store, keeping every
// revision number, time, rollout id and host as it is, so a controller on
// etcd carries on exactly where the SQLite one stopped (active rollouts
// included: the new leader resumes them). Specs are opened with the
// secrets key and sealed again with the same key.
//
// Not copied: the access state (tokens, enrollments, certificates), which
// stays in each controller's data dir (docs/DESIGN.md, "High
// availability").
#ifndef PYSERVICE_CONTROLLER_ETCD_MIGRATE_H_
#define PYSERVICE_CONTROLLER_ETCD_MIGRATE_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "controller/store/etcd_store.h"
#include "controller/store/sqlite_store.h"

namespace pyservice::controller {

struct MigrationCounts {
  size_t apps = 0;
  size_t revisions = 0;
  size_t rollouts = 0;
  size_t hosts = 0;
};

// FAILED_PRECONDITION, writing nothing, when the etcd store is not empty
// (a second migrate, or one onto a live cluster). Run it with the
// controllers stopped: what the source gets meanwhile is not copied.
absl::StatusOr<MigrationCounts> MigrateSqliteToEtcd(SqliteStore& from, EtcdStore& to);

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_ETCD_MIGRATE_H_
