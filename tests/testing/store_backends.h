// The backends the store contract tests run against (Store and
// AccessStore): the embedded SQLite store in a temp dir, and the etcd store
// under a prefix of its own on one real 3-node etcd cluster per test binary
// (tests/testing/etcd_cluster.h), started at the first use.
#ifndef PYSERVICE_TESTS_TESTING_STORE_BACKENDS_H_
#define PYSERVICE_TESTS_TESTING_STORE_BACKENDS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/time/clock.h"
#include "controller/store/access_store.h"
#include "controller/store/spec_sealer.h"
#include "controller/store/store.h"

namespace pyservice::testing {

// The state a store is opened over, and what a test reads past the store.
class StoreBackend {
 public:
  // "sqlite" or "etcd". For etcd, fails saying why when the cluster cannot
  // start (etcd not installed): the test then fails, it is not skipped.
  static absl::StatusOr<std::unique_ptr<StoreBackend>> Make(const std::string& name);

  virtual ~StoreBackend() = default;
  // A store over the backend's state; a second call opens a second store
  // over the same state (another connection, or another etcd client: what
  // a second controller would have).
  virtual absl::StatusOr<std::unique_ptr<controller::Store>> Open(
      const Clock& clock, const controller::SpecSealer& sealer) = 0;
  // The same as an AccessStore.
  virtual absl::StatusOr<std::unique_ptr<controller::AccessStore>> OpenAccess(
      const Clock& clock, const controller::SpecSealer& sealer) = 0;
  // How many records of `kind` (apps, revisions, rollouts) are stored.
  virtual int64_t Count(const std::string& kind) = 0;
  // Removes rollout `id` of `app` past the store (an operator by hand).
  virtual void RemoveRolloutByHand(const std::string& app, uint32_t id) = 0;
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_STORE_BACKENDS_H_
