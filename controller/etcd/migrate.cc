#include "controller/etcd/migrate.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/status/status_macros.h"

namespace pyservice::controller {

absl::StatusOr<MigrationCounts> MigrateSqliteToEtcd(SqliteStore& from, EtcdStore& to) {
  ASSIGN_OR_RETURN(const bool empty, to.IsEmpty());
  if (!empty) {
    return absl::FailedPreconditionError(
        "the etcd store already holds a controller's state; migrate only into an empty one");
  }
  MigrationCounts counts;
  ASSIGN_OR_RETURN(const std::vector<StoredAppEntry> apps, from.ListAllApps());
  for (const StoredAppEntry& app : apps) {
    ASSIGN_OR_RETURN(const std::vector<StoredRevision> listed, from.ListRevisions(app.name));
    std::vector<StoredRevision> revisions;
    for (const StoredRevision& revision : listed) {
      // ListRevisions leaves specs out.
      ASSIGN_OR_RETURN(StoredRevision whole, from.GetRevision(app.name, revision.number));
      revisions.push_back(std::move(whole));
    }
    RETURN_IF_ERROR(to.ImportApp(app.name, app.created_at, app.deleted_at, revisions));
    ++counts.apps;
    counts.revisions += revisions.size();
    ASSIGN_OR_RETURN(const std::vector<StoredRollout> rollouts, from.ListRollouts(app.name));
    for (const StoredRollout& rollout : rollouts) {
      RETURN_IF_ERROR(to.ImportRollout(rollout));
      ++counts.rollouts;
    }
  }
  ASSIGN_OR_RETURN(const std::vector<StoredHost> hosts, from.ListHosts());
  RETURN_IF_ERROR(to.UpsertHosts(hosts));
  counts.hosts = hosts.size();
  return counts;
}

}  // namespace pyservice::controller
