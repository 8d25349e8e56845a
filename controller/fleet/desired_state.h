// What every app should run — its current revision, and where its rollout
// has put each host — cached in memory from the store, so that agent
// reactions (which must not block) never read SQLite. Loaded once at start,
// then refreshed app by app after every apply, delete and rollout
// transition (the store is the only source: a refresh reads what the last
// transition persisted).
#ifndef PYSERVICE_CONTROLLER_FLEET_DESIRED_STATE_H_
#define PYSERVICE_CONTROLLER_FLEET_DESIRED_STATE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "controller/fleet/host_view.h"
#include "controller/store/store.h"

namespace pyservice::controller::fleet {

class DesiredState {
 public:
  explicit DesiredState(Store& store) : store_(store) {}

  // Reads every present app from the store. Errors are the store's, or
  // DATA_LOSS for a stored spec that does not decode.
  absl::Status LoadAll();

  // Re-reads one app after an apply, delete or rollout transition changed it (blocking: call it
  // from the operator API's threads, never from a reaction). Refreshes are
  // serialized, so the cache ends up as the store was at the last one.
  // Returns the hosts whose work this refresh changed, against the set it
  // replaced (desired_change.h; nullopt: every host).
  absl::StatusOr<std::optional<std::vector<std::string>>> Refresh(const std::string& app);

  // The current desired set, immutable: a refresh publishes a new one.
  std::shared_ptr<const DesiredSet> Snapshot() const;

 private:
  // The app's desired state from its current revision and, when that
  // revision came with a rollout, the rollout's placement.
  absl::StatusOr<DesiredApp> Load(const StoredRevision& current);

  Store& store_;
  // Lock order: refresh_mu_ before mu_. refresh_mu_ is held across the store
  // read so two refreshes cannot publish out of order.
  absl::Mutex refresh_mu_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const DesiredSet> current_ ABSL_GUARDED_BY(mu_) =
      std::make_shared<const DesiredSet>();
};

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_DESIRED_STATE_H_
