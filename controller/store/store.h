// The controller's persistent state behind one interface, so the embedded
// SQLite store (sqlite_store.h) can later be joined by an etcd one for HA.
//
// Contract for every implementation:
//  * each method is atomic and safe to call from many threads at once
//    (a batch method is one transaction: all of it or none);
//  * revisions of an app are numbered 1, 2, 3, ... and a number is never
//    reused, even across DeleteApp;
//  * errors: NOT_FOUND for a missing app, ABORTED when an optimistic check
//    failed (re-read and retry), UNAVAILABLE/INTERNAL for storage failures.
#ifndef PYSERVICE_CONTROLLER_STORE_STORE_H_
#define PYSERVICE_CONTROLLER_STORE_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pyservice::controller {

// One stored revision. `spec` is the serialized pyservice.v1.AppSpec; the
// store treats it as opaque bytes, and since they carry the app's secrets,
// keeps them encrypted at rest (SqliteStore: spec_sealer.h).
struct StoredRevision {
  std::string app;
  uint32_t number = 0;
  std::string tag;
  std::string digest;  // the keyed spec digest (spec::SpecDigest)
  absl::Time created_at;
  std::string spec;  // serialized pyservice.v1.AppSpec
};

// An app that is present (not deleted), with its latest revision.
struct StoredApp {
  std::string name;
  StoredRevision latest;
};

// A host that has connected at least once (an agent said Hello). The
// controller's in-memory fleet registry is the live view; this is what
// survives a controller restart.
struct StoredHost {
  std::string name;
  // The labels of its latest Hello.
  std::map<std::string, std::string> labels;
  // The agent version of its latest Hello.
  std::string agent_version;
  // Its first Hello ever.
  absl::Time first_seen;
  // The last time it was heard from, as last written: writers rate-limit
  // these writes, so it may lag the truth by their interval.
  absl::Time last_seen;
};

// One rollout. The store keeps `record` (a serialized
// pyservice.v1.RolloutRecord: plan, state, decisions) as opaque bytes; the
// other fields are its index.
struct StoredRollout {
  std::string app;
  // Assigned by CreateRollout: unique across apps, growing, never reused.
  uint32_t id = 0;
  uint32_t from_revision = 0;
  uint32_t to_revision = 0;
  // Not in a final state: at most one active rollout per app.
  bool active = true;
  absl::Time created_at;
  absl::Time updated_at;
  std::string record;
};

class Store {
 public:
  virtual ~Store() = default;

  // Appends `revision` (its `number` is ignored) as the app's next revision,
  // creating the app if new and un-deleting it if it was deleted. The append
  // happens only if the app's current revision number is still
  // `expected_current` (0: the app has no current, undeleted revision);
  // otherwise ABORTED and nothing is written. Returns the stored revision
  // with its assigned number.
  virtual absl::StatusOr<StoredRevision> AppendRevision(
      const StoredRevision& revision, uint32_t expected_current) = 0;

  // The latest revision of a present app; nullopt if the app does not exist
  // or is deleted.
  virtual absl::StatusOr<std::optional<StoredRevision>> CurrentRevision(
      const std::string& app) = 0;

  // One revision by number (also of a deleted app). NOT_FOUND if absent.
  virtual absl::StatusOr<StoredRevision> GetRevision(const std::string& app,
                                                     uint32_t number) = 0;

  // All revisions of an app, oldest first (also of a deleted app). Empty if
  // the app never existed. `spec` is left empty to keep listings cheap.
  virtual absl::StatusOr<std::vector<StoredRevision>> ListRevisions(
      const std::string& app) = 0;

  // Every present app, by name.
  virtual absl::StatusOr<std::vector<StoredApp>> ListApps() = 0;

  // Marks a present app deleted; its history stays. NOT_FOUND if the app is
  // absent or already deleted.
  virtual absl::Status DeleteApp(const std::string& app) = 0;

  // Inserts or updates every host of `hosts` (one transaction). A new host
  // is stored as given; an existing one keeps its first_seen, takes the
  // given labels and agent_version, and its last_seen never moves backwards
  // (a late, stale write cannot undo a newer one). Times are stored to the
  // millisecond. INVALID_ARGUMENT for an empty name. Meant to be called with
  // batches (every host heard from in the last few seconds), not per host:
  // each call is one durable commit.
  virtual absl::Status UpsertHosts(const std::vector<StoredHost>& hosts) = 0;

  // Every stored host, by name.
  virtual absl::StatusOr<std::vector<StoredHost>> ListHosts() = 0;

  // Stores a new rollout of a present app, in one transaction with the
  // revision it rolls out when `revision` is given (appended exactly as
  // AppendRevision would, with the same `expected_current` check; the
  // rollout's to_revision is then the number it got). FAILED_PRECONDITION,
  // naming it, when the app already has an active rollout; NOT_FOUND when
  // the app is absent or deleted; ABORTED when the current revision is not
  // `expected_current`. Nothing is written on error. Returns the rollout
  // with its id (and to_revision).
  virtual absl::StatusOr<StoredRollout> CreateRollout(
      const StoredRollout& rollout, const std::optional<StoredRevision>& revision,
      uint32_t expected_current) = 0;

  // Replaces a rollout's `active`, `updated_at` and `record` (the others
  // never change). NOT_FOUND for an unknown (app, id).
  virtual absl::Status UpdateRollout(const StoredRollout& rollout) = 0;

  // One rollout. NOT_FOUND when the app has no rollout `id`.
  virtual absl::StatusOr<StoredRollout> GetRollout(const std::string& app, uint32_t id) = 0;

  // The app's latest rollout (highest id), nullopt when it has none.
  virtual absl::StatusOr<std::optional<StoredRollout>> LatestRollout(
      const std::string& app) = 0;

  // The app's rollouts, oldest first (also of a deleted app).
  virtual absl::StatusOr<std::vector<StoredRollout>> ListRollouts(const std::string& app) = 0;

  // Every active rollout of every app, by id (a restarted controller
  // resumes them).
  virtual absl::StatusOr<std::vector<StoredRollout>> ActiveRollouts() = 0;
};

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_STORE_STORE_H_
