#include "tests/testing/store_backends.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "controller/etcd/etcd_client.h"
#include "controller/store/etcd_store.h"
#include "controller/store/sqlite_store.h"
#include "gtest/gtest.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/sqlite_query.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::testing {
namespace {

using controller::AccessStore;
using controller::EtcdStore;
using controller::SpecSealer;
using controller::SqliteStore;
using controller::Store;
namespace etcd = controller::etcd;

class SqliteBackend final : public StoreBackend {
 public:
  absl::StatusOr<std::unique_ptr<Store>> Open(const Clock& clock,
                                              const SpecSealer& sealer) override {
    return OpenAs<Store>(clock, sealer);
  }
  absl::StatusOr<std::unique_ptr<AccessStore>> OpenAccess(const Clock& clock,
                                                          const SpecSealer& sealer) override {
    return OpenAs<AccessStore>(clock, sealer);
  }
  int64_t Count(const std::string& kind) override {
    return std::stoll(Query(absl::StrCat("SELECT COUNT(*) FROM ", kind)));
  }
  void RemoveRolloutByHand(const std::string& app, uint32_t id) override {
    Query(absl::StrCat("DELETE FROM rollouts WHERE app = '", app, "' AND id = ", id,
                       " RETURNING id"));
  }

 private:
  template <typename Interface>
  absl::StatusOr<std::unique_ptr<Interface>> OpenAs(const Clock& clock,
                                                    const SpecSealer& sealer) {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store =
        SqliteStore::Open(dir_.Join("data"), clock, sealer);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Interface>(std::move(*store));
  }

  // One value of `sql` through a connection of its own.
  std::string Query(const std::string& sql) {
    return QuerySqliteFile(dir_.Join("data") + "/" + SqliteStore::kDatabaseFileName, sql);
  }

  TempDir dir_;
};

// One cluster for the whole binary (starting three members takes seconds);
// each test writes under a prefix of its own.
class EtcdBackend final : public StoreBackend {
 public:
  static void StartCluster() {
    if (cluster_ != nullptr || !start_error_.ok()) return;
    dir_ = new TempDir();
    // Stopped and removed when the binary exits: each member preallocates a
    // 64 MB WAL, and under CTest every test is a binary run of its own, so
    // a kept directory per run filled the disk (tens of GB).
    std::atexit(StopCluster);
    absl::StatusOr<std::unique_ptr<EtcdCluster>> started = EtcdCluster::Start(dir_->path());
    if (started.ok()) {
      cluster_ = started->release();
    } else {
      start_error_ = started.status();
    }
  }
  static const absl::Status& start_error() { return start_error_; }

  EtcdBackend() : prefix_(absl::StrCat("/test-", ++tests_, "/")) {}

  absl::StatusOr<std::unique_ptr<Store>> Open(const Clock& clock,
                                              const SpecSealer& sealer) override {
    return OpenAs<Store>(clock, sealer);
  }
  absl::StatusOr<std::unique_ptr<AccessStore>> OpenAccess(const Clock& clock,
                                                          const SpecSealer& sealer) override {
    return OpenAs<AccessStore>(clock, sealer);
  }
  int64_t Count(const std::string& kind) override {
    etcdserverpb::RangeRequest request;
    request.set_key(absl::StrCat(prefix_, kind, "/"));
    request.set_range_end(etcd::PrefixRangeEnd(request.key()));
    request.set_count_only(true);
    absl::StatusOr<etcdserverpb::RangeResponse> response = Client().Range(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->count() : -1;
  }
  void RemoveRolloutByHand(const std::string& app, uint32_t id) override {
    etcdserverpb::DeleteRangeRequest request;
    request.set_key(absl::StrFormat("%srollouts/%s/%010u", prefix_, app, id));
    absl::StatusOr<etcdserverpb::DeleteRangeResponse> response = Client().DeleteRange(request);
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->deleted(), 1);
  }

 private:
  template <typename Interface>
  absl::StatusOr<std::unique_ptr<Interface>> OpenAs(const Clock& clock,
                                                    const SpecSealer& sealer) {
    absl::StatusOr<std::unique_ptr<etcd::EtcdClient>> client =
        etcd::EtcdClient::Create(cluster_->endpoints());
    if (!client.ok()) return client.status();
    clients_.push_back(*std::move(client));
    absl::StatusOr<std::unique_ptr<EtcdStore>> store =
        EtcdStore::Open(*clients_.back(), clock, sealer, prefix_);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Interface>(std::move(*store));
  }

  etcd::EtcdClient& Client() {
    if (raw_ == nullptr) raw_ = *etcd::EtcdClient::Create(cluster_->endpoints());
    return *raw_;
  }

  static void StopCluster() {
    delete cluster_;  // stops the members before their files go
    cluster_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  static inline TempDir* dir_ = nullptr;
  static inline EtcdCluster* cluster_ = nullptr;
  static inline absl::Status start_error_;
  static inline int tests_ = 0;
  const std::string prefix_;
  // Outlive the stores made from them: declared before the test's stores
  // are destroyed (the fixture owns the backend, tests own the stores).
  std::vector<std::unique_ptr<etcd::EtcdClient>> clients_;
  std::unique_ptr<etcd::EtcdClient> raw_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<StoreBackend>> StoreBackend::Make(const std::string& name) {
  if (name == "sqlite") return std::make_unique<SqliteBackend>();
  if (name != "etcd") return absl::InvalidArgumentError(absl::StrCat("no backend ", name));
  EtcdBackend::StartCluster();
  if (!EtcdBackend::start_error().ok()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot start the etcd cluster: ",
                                                      EtcdBackend::start_error().message()));
  }
  return std::make_unique<EtcdBackend>();
}

}  // namespace pyservice::testing
