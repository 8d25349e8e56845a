// The Store contract (controller/store/store.h), run against every
// backend: the embedded SQLite store and the etcd store on a real 3-node
// etcd cluster started on loopback for this binary (tests/testing/
// etcd_cluster.h). A test named .../etcd fails, saying why, when etcd is
// not installed. What only one backend has (SQLite's file, schema and
// migrations) is tested in that backend's own test file.
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <latch>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "controller/etcd/etcd_client.h"
#include "controller/store/aes_gcm_spec_sealer.h"
#include "controller/store/etcd_store.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/store_backends.h"
#include "tests/testing/store_revisions.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_secret_keys.h"

namespace pyservice::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// Each of `threads` threads appends `per_thread` revisions through
// stores[thread % stores.size()], then the history must be exactly 1..N with
// every appended tag present once: no gap, no duplicate, no lost update.
void RunConcurrentAppends(const std::vector<Store*>& stores, int threads,
                          int per_thread) {
  std::vector<std::thread> workers;
  std::vector<absl::Status> results(threads);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      Store& store = *stores[t % stores.size()];
      for (int i = 0; i < per_thread; ++i) {
        absl::Status status =
            AppendWithRetry(store, Rev("web", absl::StrCat(t, "-", i)));
        if (!status.ok()) {
          results[t] = status;
          return;
        }
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  for (const absl::Status& result : results) ASSERT_TRUE(result.ok()) << result;

  absl::StatusOr<std::vector<StoredRevision>> revisions =
      stores[0]->ListRevisions("web");
  ASSERT_TRUE(revisions.ok()) << revisions.status();
  const size_t total = static_cast<size_t>(threads) * per_thread;
  ASSERT_THAT(*revisions, SizeIs(total));
  std::set<std::string> tags;
  for (size_t i = 0; i < total; ++i) {
    EXPECT_EQ((*revisions)[i].number, i + 1);
    tags.insert((*revisions)[i].tag);
  }
  EXPECT_THAT(tags, SizeIs(total));
}

StoredHost HostRecord(const std::string& name, absl::Time first, absl::Time last,
                      std::map<std::string, std::string> labels = {}) {
  return StoredHost{name, std::move(labels), "1.0", first, last};
}

// A rollout as the controller would pass it to CreateRollout.
StoredRollout Plan(const std::string& app, uint32_t from, uint32_t to,
                   absl::Time at, const std::string& record = "plan") {
  StoredRollout rollout;
  rollout.app = app;
  rollout.from_revision = from;
  rollout.to_revision = to;
  rollout.active = true;
  rollout.created_at = at;
  rollout.updated_at = at;
  rollout.record = record;
  return rollout;
}

void ExpectSameRollout(const StoredRollout& actual,
                       const StoredRollout& expected) {
  EXPECT_EQ(actual.app, expected.app);
  EXPECT_EQ(actual.id, expected.id);
  EXPECT_EQ(actual.from_revision, expected.from_revision);
  EXPECT_EQ(actual.to_revision, expected.to_revision);
  EXPECT_EQ(actual.active, expected.active);
  EXPECT_EQ(actual.created_at, expected.created_at);
  EXPECT_EQ(actual.updated_at, expected.updated_at);
  EXPECT_EQ(actual.record, expected.record);
}

std::vector<uint32_t> Ids(const std::vector<StoredRollout>& rollouts) {
  std::vector<uint32_t> ids;
  for (const StoredRollout& r : rollouts) ids.push_back(r.id);
  return ids;
}

class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<testing::StoreBackend>> backend =
        testing::StoreBackend::Make(GetParam());
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);
  }

  std::unique_ptr<Store> OpenStore() {
    absl::StatusOr<std::unique_ptr<Store>> store = backend_->Open(clock_, sealer_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }
  int64_t Count(const std::string& kind) { return backend_->Count(kind); }
  void RemoveRolloutByHand(const std::string& app, uint32_t id) {
    backend_->RemoveRolloutByHand(app, id);
  }

  testing::FakeClock clock_;
  const SecretKeys keys_ = testing::TestSecretKeys();
  const AesGcmSpecSealer sealer_{keys_, "test.key"};
  // Stores are locals of the tests, destroyed before the fixture, so the
  // backend (and its etcd clients) outlive them.
  std::unique_ptr<testing::StoreBackend> backend_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest, ::testing::Values("sqlite", "etcd"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST_P(StoreContractTest, AppendRevision_NumbersFromOneAndStampsClock) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);

  const absl::Time t1 = clock_.Now();
  absl::StatusOr<StoredRevision> r1 = store->AppendRevision(Rev("web", "a"), 0);
  ASSERT_TRUE(r1.ok()) << r1.status();
  EXPECT_EQ(r1->number, 1u);
  EXPECT_EQ(r1->app, "web");
  EXPECT_EQ(r1->tag, "a");
  EXPECT_EQ(r1->digest, "sha256:a");
  EXPECT_EQ(r1->spec, "spec");
  EXPECT_EQ(r1->created_at, t1);

  // Sub-millisecond precision is dropped, in the returned value too.
  clock_.Advance(absl::Milliseconds(1500) + absl::Nanoseconds(123456));
  absl::StatusOr<StoredRevision> r2 = store->AppendRevision(Rev("web", "b"), 1);
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(r2->number, 2u);
  EXPECT_EQ(r2->created_at, t1 + absl::Milliseconds(1500));

  // The number passed in is ignored.
  StoredRevision with_number = Rev("web", "c");
  with_number.number = 42;
  absl::StatusOr<StoredRevision> r3 = store->AppendRevision(with_number, 2);
  ASSERT_TRUE(r3.ok()) << r3.status();
  EXPECT_EQ(r3->number, 3u);

  // Numbering is per app.
  absl::StatusOr<StoredRevision> other =
      store->AppendRevision(Rev("api", "x"), 0);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->number, 1u);

  absl::StatusOr<StoredRevision> read = store->GetRevision("web", 2);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->created_at, r2->created_at);
}

TEST_P(StoreContractTest,
       AppendRevision_StaleExpectedCurrentIsAbortedNothingWritten) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AppendRevision(Rev("web", "a"), 0).ok());

  for (uint32_t expected : {0u, 2u, 7u}) {
    absl::StatusOr<StoredRevision> stale =
        store->AppendRevision(Rev("web", "b"), expected);
    EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted)
        << "expected_current " << expected << ": " << stale.status();
  }
  absl::StatusOr<std::vector<StoredRevision>> revisions =
      store->ListRevisions("web");
  ASSERT_TRUE(revisions.ok()) << revisions.status();
  EXPECT_THAT(Numbers(*revisions), ElementsAre(1u));

  // A new app expected to exist is not created.
  EXPECT_EQ(store->AppendRevision(Rev("api", "a"), 1).status().code(),
            absl::StatusCode::kAborted);
  absl::StatusOr<std::vector<StoredApp>> apps = store->ListApps();
  ASSERT_TRUE(apps.ok()) << apps.status();
  ASSERT_THAT(*apps, SizeIs(1));
  EXPECT_EQ((*apps)[0].name, "web");
  EXPECT_EQ(Count("apps"), 1);
}

TEST_P(StoreContractTest, AppendRevision_EmptyAppNameIsInvalid) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->AppendRevision(Rev("", "a"), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreContractTest, CurrentRevision_IsLatestWithSpec) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);

  absl::StatusOr<std::optional<StoredRevision>> none =
      store->CurrentRevision("web");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(store->AppendRevision(Rev("web", "a", "one"), 0).ok());
  ASSERT_TRUE(store->AppendRevision(Rev("web", "b", "two"), 1).ok());
  absl::StatusOr<std::optional<StoredRevision>> current =
      store->CurrentRevision("web");
  ASSERT_TRUE(current.ok()) << current.status();
  ASSERT_TRUE(current->has_value());
  EXPECT_EQ((*current)->number, 2u);
  EXPECT_EQ((*current)->tag, "b");
  EXPECT_EQ((*current)->spec, "two");
}

TEST_P(StoreContractTest, GetRevision_AnyNumberOrNotFound) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AppendRevision(Rev("web", "a", "one"), 0).ok());
  ASSERT_TRUE(store->AppendRevision(Rev("web", "b", "two"), 1).ok());

  absl::StatusOr<StoredRevision> first = store->GetRevision("web", 1);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->number, 1u);
  EXPECT_EQ(first->tag, "a");
  EXPECT_EQ(first->spec, "one");

  EXPECT_EQ(store->GetRevision("web", 3).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store->GetRevision("web", 0).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store->GetRevision("api", 1).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreContractTest, ListRevisions_OldestFirstWithoutSpec) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  for (uint32_t i = 0; i < 12; ++i) {  // past 9: numeric order, not text
    ASSERT_TRUE(
        store->AppendRevision(Rev("web", absl::StrCat("t", i)), i).ok());
  }
  absl::StatusOr<std::vector<StoredRevision>> revisions =
      store->ListRevisions("web");
  ASSERT_TRUE(revisions.ok()) << revisions.status();
  ASSERT_THAT(*revisions, SizeIs(12));
  for (uint32_t i = 0; i < 12; ++i) {
    EXPECT_EQ((*revisions)[i].number, i + 1);
    EXPECT_EQ((*revisions)[i].tag, absl::StrCat("t", i));
    EXPECT_EQ((*revisions)[i].app, "web");
    EXPECT_THAT((*revisions)[i].spec, IsEmpty());
  }

  absl::StatusOr<std::vector<StoredRevision>> unknown =
      store->ListRevisions("api");
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_THAT(*unknown, IsEmpty());
}

TEST_P(StoreContractTest, ListApps_ByNameWithLatestRevision) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<StoredApp>> empty = store->ListApps();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_THAT(*empty, IsEmpty());

  ASSERT_TRUE(store->AppendRevision(Rev("web", "w1"), 0).ok());
  ASSERT_TRUE(store->AppendRevision(Rev("api", "a1"), 0).ok());
  ASSERT_TRUE(store->AppendRevision(Rev("web", "w2", "web-spec"), 1).ok());
  ASSERT_TRUE(store->AppendRevision(Rev("db", "d1"), 0).ok());

  absl::StatusOr<std::vector<StoredApp>> apps = store->ListApps();
  ASSERT_TRUE(apps.ok()) << apps.status();
  ASSERT_THAT(*apps, SizeIs(3));
  EXPECT_EQ((*apps)[0].name, "api");
  EXPECT_EQ((*apps)[1].name, "db");
  EXPECT_EQ((*apps)[2].name, "web");
  EXPECT_EQ((*apps)[2].latest.app, "web");
  EXPECT_EQ((*apps)[2].latest.number, 2u);
  EXPECT_EQ((*apps)[2].latest.tag, "w2");
  EXPECT_EQ((*apps)[2].latest.spec, "web-spec");
}

TEST_P(StoreContractTest, DeleteApp_IsTombstoneKeepingHistory) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AppendRevision(Rev("web", "a"), 0).ok());
  ASSERT_TRUE(store->AppendRevision(Rev("web", "b"), 1).ok());
  ASSERT_TRUE(store->AppendRevision(Rev("api", "a"), 0).ok());

  ASSERT_TRUE(store->DeleteApp("web").ok());

  absl::StatusOr<std::optional<StoredRevision>> current =
      store->CurrentRevision("web");
  ASSERT_TRUE(current.ok()) << current.status();
  EXPECT_FALSE(current->has_value());
  absl::StatusOr<std::vector<StoredApp>> apps = store->ListApps();
  ASSERT_TRUE(apps.ok()) << apps.status();
  ASSERT_THAT(*apps, SizeIs(1));
  EXPECT_EQ((*apps)[0].name, "api");

  absl::StatusOr<std::vector<StoredRevision>> history =
      store->ListRevisions("web");
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_THAT(Numbers(*history), ElementsAre(1u, 2u));
  EXPECT_TRUE(store->GetRevision("web", 2).ok());

  EXPECT_EQ(store->DeleteApp("web").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->DeleteApp("nope").code(), absl::StatusCode::kNotFound);
  // A deleted app has no current revision: its old number is stale.
  EXPECT_EQ(store->AppendRevision(Rev("web", "c"), 2).status().code(),
            absl::StatusCode::kAborted);
}

TEST_P(StoreContractTest,
       AppendRevision_AfterDeleteUndeletesAndContinuesNumbering) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AppendRevision(Rev("web", "a"), 0).ok());
  ASSERT_TRUE(store->AppendRevision(Rev("web", "b"), 1).ok());
  ASSERT_TRUE(store->DeleteApp("web").ok());

  absl::StatusOr<StoredRevision> again =
      store->AppendRevision(Rev("web", "c"), 0);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->number, 3u);

  absl::StatusOr<std::optional<StoredRevision>> current =
      store->CurrentRevision("web");
  ASSERT_TRUE(current.ok()) << current.status();
  ASSERT_TRUE(current->has_value());
  EXPECT_EQ((*current)->number, 3u);
  absl::StatusOr<std::vector<StoredApp>> apps = store->ListApps();
  ASSERT_TRUE(apps.ok()) << apps.status();
  ASSERT_THAT(*apps, SizeIs(1));
  EXPECT_EQ((*apps)[0].latest.number, 3u);
  absl::StatusOr<std::vector<StoredRevision>> history =
      store->ListRevisions("web");
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_THAT(Numbers(*history), ElementsAre(1u, 2u, 3u));

  // Deletable again, and numbering goes on.
  ASSERT_TRUE(store->DeleteApp("web").ok());
  absl::StatusOr<StoredRevision> third_life =
      store->AppendRevision(Rev("web", "d"), 0);
  ASSERT_TRUE(third_life.ok()) << third_life.status();
  EXPECT_EQ(third_life->number, 4u);
}

TEST_P(StoreContractTest, Open_ReopenKeepsEverything) {
  const std::string binary_spec("\0\x01\xff spec", 8);
  absl::Time created_at;
  {
    std::unique_ptr<Store> store = OpenStore();
    ASSERT_NE(store, nullptr);
    absl::StatusOr<StoredRevision> r1 =
        store->AppendRevision(Rev("web", "a", binary_spec), 0);
    ASSERT_TRUE(r1.ok()) << r1.status();
    created_at = r1->created_at;
    ASSERT_TRUE(store->AppendRevision(Rev("api", "a"), 0).ok());
    ASSERT_TRUE(store->AppendRevision(Rev("api", "b", ""), 1).ok());
    ASSERT_TRUE(store->DeleteApp("api").ok());
  }

  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<StoredRevision> r1 = store->GetRevision("web", 1);
  ASSERT_TRUE(r1.ok()) << r1.status();
  EXPECT_EQ(r1->spec, binary_spec);
  EXPECT_EQ(r1->tag, "a");
  EXPECT_EQ(r1->digest, "sha256:a");
  EXPECT_EQ(r1->created_at, created_at);

  absl::StatusOr<StoredRevision> empty_spec = store->GetRevision("api", 2);
  ASSERT_TRUE(empty_spec.ok()) << empty_spec.status();
  EXPECT_EQ(empty_spec->spec, "");

  absl::StatusOr<std::vector<StoredApp>> apps = store->ListApps();
  ASSERT_TRUE(apps.ok()) << apps.status();
  ASSERT_THAT(*apps, SizeIs(1));
  EXPECT_EQ((*apps)[0].name, "web");
  // Still deleted, numbering still continues.
  absl::StatusOr<StoredRevision> api =
      store->AppendRevision(Rev("api", "c"), 0);
  ASSERT_TRUE(api.ok()) << api.status();
  EXPECT_EQ(api->number, 3u);
}

TEST_P(StoreContractTest, UpsertHosts_InsertsAndListsByNameWithLabels) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  const absl::Time t = clock_.Now();
  // Labels JSON must escape; keys and values are arbitrary UTF-8.
  const std::map<std::string, std::string> odd = {
      {"quote\"back\\slash", "tab\there"}, {"zone", "ü-1"}, {"empty", ""}};
  ASSERT_TRUE(store->UpsertHosts({HostRecord("web2", t, t, odd),
                                  HostRecord("web1", t, t)}).ok());
  absl::StatusOr<std::vector<StoredHost>> hosts = store->ListHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  ASSERT_THAT(*hosts, SizeIs(2));
  EXPECT_EQ((*hosts)[0].name, "web1");
  EXPECT_THAT((*hosts)[0].labels, IsEmpty());
  EXPECT_EQ((*hosts)[1].name, "web2");
  EXPECT_EQ((*hosts)[1].labels, odd);
  EXPECT_EQ((*hosts)[1].agent_version, "1.0");
  EXPECT_EQ((*hosts)[1].first_seen, t);
  EXPECT_EQ((*hosts)[1].last_seen, t);
}

TEST_P(StoreContractTest, UpsertHosts_KeepsFirstSeenAndNeverMovesLastSeenBack) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  const absl::Time t = clock_.Now();
  ASSERT_TRUE(store->UpsertHosts({HostRecord("h", t, t, {{"role", "web"}})}).ok());
  StoredHost newer = HostRecord("h", t + absl::Hours(1), t + absl::Minutes(5), {{"role", "db"}});
  newer.agent_version = "2.0";
  ASSERT_TRUE(store->UpsertHosts({newer}).ok());
  ASSERT_TRUE(store->UpsertHosts({HostRecord("h", t, t + absl::Minutes(1), {{"role", "db"}})})
                  .ok());  // a late, stale write
  absl::StatusOr<std::vector<StoredHost>> hosts = store->ListHosts();
  ASSERT_TRUE(hosts.ok());
  ASSERT_THAT(*hosts, SizeIs(1));
  EXPECT_EQ((*hosts)[0].first_seen, t);
  EXPECT_EQ((*hosts)[0].last_seen, t + absl::Minutes(5));
  EXPECT_EQ((*hosts)[0].labels, (std::map<std::string, std::string>{{"role", "db"}}));
}

TEST_P(StoreContractTest, UpsertHosts_EmptyNameIsInvalidAndWritesNothing) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  const absl::Time t = clock_.Now();
  EXPECT_EQ(store->UpsertHosts({HostRecord("ok", t, t), HostRecord("", t, t)}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(*store->ListHosts(), IsEmpty());
}

TEST_P(StoreContractTest, AppendRevision_ConcurrentThreadsLeaveNoGaps) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  RunConcurrentAppends({store.get()}, /*threads=*/8, /*per_thread=*/25);
}

TEST_P(StoreContractTest, AppendRevision_ConcurrentStoresLeaveNoGaps) {
  std::unique_ptr<Store> first = OpenStore();
  std::unique_ptr<Store> second = OpenStore();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  RunConcurrentAppends({first.get(), second.get()}, /*threads=*/8,
                       /*per_thread=*/25);
}

TEST_P(StoreContractTest, CreateRollout_WithRevisionAppendsItAndSetsToRevision) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AppendRevision(Rev("web", "a"), 0).ok());

  // Sub-millisecond precision is dropped, in the returned value too.
  const absl::Time at = clock_.Now() + absl::Nanoseconds(1234567);
  const std::string record("\0\x01\xff plan", 9);
  StoredRollout plan = Plan("web", 1, /*to=*/99, at, record);
  plan.id = 42;  // ignored
  absl::StatusOr<StoredRollout> created =
      store->CreateRollout(plan, Rev("web", "b", "spec-b"), 1);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->app, "web");
  EXPECT_EQ(created->id, 1u);
  EXPECT_EQ(created->from_revision, 1u);
  EXPECT_EQ(created->to_revision, 2u);  // the appended revision's number
  EXPECT_TRUE(created->active);
  EXPECT_EQ(created->created_at, clock_.Now() + absl::Milliseconds(1));
  EXPECT_EQ(created->updated_at, clock_.Now() + absl::Milliseconds(1));
  EXPECT_EQ(created->record, record);

  absl::StatusOr<std::optional<StoredRevision>> current =
      store->CurrentRevision("web");
  ASSERT_TRUE(current.ok()) << current.status();
  ASSERT_TRUE(current->has_value());
  EXPECT_EQ((*current)->number, 2u);
  EXPECT_EQ((*current)->spec, "spec-b");

  absl::StatusOr<StoredRollout> read = store->GetRollout("web", created->id);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectSameRollout(*read, *created);
}

TEST_P(StoreContractTest, CreateRollout_WithoutRevisionKeepsToRevision) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AppendRevision(Rev("web", "a"), 0).ok());
  ASSERT_TRUE(store->AppendRevision(Rev("web", "b"), 1).ok());

  // A rollback: from the current revision to an older one.
  absl::StatusOr<StoredRollout> created = store->CreateRollout(
      Plan("web", 2, 1, clock_.Now()), std::nullopt, 2);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->id, 1u);
  EXPECT_EQ(created->from_revision, 2u);
  EXPECT_EQ(created->to_revision, 1u);

  absl::StatusOr<std::vector<StoredRevision>> revisions =
      store->ListRevisions("web");
  ASSERT_TRUE(revisions.ok()) << revisions.status();
  EXPECT_THAT(Numbers(*revisions), ElementsAre(1u, 2u));
  absl::StatusOr<StoredRollout> read = store->GetRollout("web", 1);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectSameRollout(*read, *created);
}

TEST_P(StoreContractTest, CreateRollout_IdsGrowAcrossAppsAndAreNeverReused) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AppendRevision(Rev("web", "a"), 0).ok());
  ASSERT_TRUE(store->AppendRevision(Rev("api", "a"), 0).ok());
  ASSERT_TRUE(store->AppendRevision(Rev("db", "a"), 0).ok());

  absl::StatusOr<StoredRollout> web =
      store->CreateRollout(Plan("web", 1, 1, clock_.Now()), std::nullopt, 1);
  absl::StatusOr<StoredRollout> api = store->CreateRollout(
      Plan("api", 1, 0, clock_.Now()), Rev("api", "b"), 1);
  ASSERT_TRUE(web.ok()) << web.status();
  ASSERT_TRUE(api.ok()) << api.status();
  EXPECT_EQ(web->id, 1u);
  EXPECT_EQ(api->id, 2u);
  EXPECT_EQ(api->to_revision, 2u);

  // Even when the highest row is gone (by hand: the store never removes
  // one), its id is not handed out again.
  RemoveRolloutByHand("api", 2);
  absl::StatusOr<StoredRollout> db =
      store->CreateRollout(Plan("db", 1, 1, clock_.Now()), std::nullopt, 1);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(db->id, 3u);
}

TEST_P(StoreContractTest,
       CreateRollout_SecondActiveIsFailedPreconditionNothingWritten) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AppendRevision(Rev("hello", "a"), 0).ok());
  absl::StatusOr<StoredRollout> first = store->CreateRollout(
      Plan("hello", 1, 0, clock_.Now()), Rev("hello", "b"), 1);
  ASSERT_TRUE(first.ok()) << first.status();

  // With a revision (which must not be appended) and without one; an
  // inactive new rollout is refused too.
  absl::StatusOr<StoredRollout> with_revision = store->CreateRollout(
      Plan("hello", 2, 0, clock_.Now()), Rev("hello", "c"), 2);
  EXPECT_EQ(with_revision.status().code(),
            absl::StatusCode::kFailedPrecondition)
      << with_revision.status();
  EXPECT_THAT(with_revision.status().message(),
              HasSubstr("\"hello\" has an active rollout 1"));
  EXPECT_EQ(store->CreateRollout(Plan("hello", 2, 1, clock_.Now()),
                                 std::nullopt, 2)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  StoredRollout inactive = Plan("hello", 2, 1, clock_.Now());
  inactive.active = false;
  EXPECT_EQ(store->CreateRollout(inactive, std::nullopt, 2).status().code(),
            absl::StatusCode::kFailedPrecondition);

  absl::StatusOr<std::vector<StoredRevision>> revisions =
      store->ListRevisions("hello");
  ASSERT_TRUE(revisions.ok()) << revisions.status();
  EXPECT_THAT(Numbers(*revisions), ElementsAre(1u, 2u));
  EXPECT_EQ(Count("rollouts"), 1);
}

TEST_P(StoreContractTest, CreateRollout_StaleExpectedCurrentIsAbortedNothingWritten) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AppendRevision(Rev("web", "a"), 0).ok());

  for (uint32_t expected : {0u, 2u, 7u}) {
    absl::StatusOr<StoredRollout> with_revision = store->CreateRollout(
        Plan("web", 1, 0, clock_.Now()), Rev("web", "b"), expected);
    EXPECT_EQ(with_revision.status().code(), absl::StatusCode::kAborted)
        << "expected_current " << expected << ": " << with_revision.status();
    absl::StatusOr<StoredRollout> without = store->CreateRollout(
        Plan("web", 1, 1, clock_.Now()), std::nullopt, expected);
    EXPECT_EQ(without.status().code(), absl::StatusCode::kAborted)
        << "expected_current " << expected << ": " << without.status();
  }
  EXPECT_EQ(Count("revisions"), 1);
  EXPECT_EQ(Count("rollouts"), 0);
}

TEST_P(StoreContractTest, CreateRollout_UnknownOrDeletedAppIsNotFound) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);

  // An apply creates an app through AppendRevision, never through a rollout.
  EXPECT_EQ(store->CreateRollout(Plan("web", 0, 0, clock_.Now()),
                                 Rev("web", "a"), 0)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(
      store->CreateRollout(Plan("web", 0, 1, clock_.Now()), std::nullopt, 0)
          .status()
          .code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(Count("apps"), 0);

  ASSERT_TRUE(store->AppendRevision(Rev("api", "a"), 0).ok());
  ASSERT_TRUE(store->DeleteApp("api").ok());
  EXPECT_EQ(store->CreateRollout(Plan("api", 0, 0, clock_.Now()),
                                 Rev("api", "b"), 0)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Count("revisions"), 1);
  EXPECT_EQ(Count("rollouts"), 0);
  absl::StatusOr<std::vector<StoredApp>> apps = store->ListApps();
  ASSERT_TRUE(apps.ok()) << apps.status();
  EXPECT_THAT(*apps, IsEmpty());
}

TEST_P(StoreContractTest, CreateRollout_InvalidArguments) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AppendRevision(Rev("web", "a"), 0).ok());
  EXPECT_EQ(
      store->CreateRollout(Plan("", 0, 1, clock_.Now()), std::nullopt, 0)
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->CreateRollout(Plan("web", 1, 0, clock_.Now()),
                                 Rev("api", "a"), 1)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count("rollouts"), 0);
}

TEST_P(StoreContractTest, UpdateRollout_ThenGetReturnsItOnlyMutableFields) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AppendRevision(Rev("web", "a"), 0).ok());
  absl::StatusOr<StoredRollout> created = store->CreateRollout(
      Plan("web", 1, 0, clock_.Now(), "plan-1"), Rev("web", "b"), 1);
  ASSERT_TRUE(created.ok()) << created.status();

  StoredRollout update = *created;
  update.record = "plan-2";
  update.updated_at = clock_.Now() + absl::Seconds(5);
  ASSERT_TRUE(store->UpdateRollout(update).ok());
  absl::StatusOr<StoredRollout> read = store->GetRollout("web", created->id);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectSameRollout(*read, update);

  // The other fields never change.
  StoredRollout odd = update;
  odd.from_revision = 7;
  odd.to_revision = 8;
  odd.created_at = clock_.Now() + absl::Hours(1);
  odd.active = false;
  odd.record = "";
  ASSERT_TRUE(store->UpdateRollout(odd).ok());
  read = store->GetRollout("web", created->id);
  ASSERT_TRUE(read.ok()) << read.status();
  StoredRollout expected = update;
  expected.active = false;
  expected.record = "";
  ExpectSameRollout(*read, expected);
}

TEST_P(StoreContractTest, UpdateRollout_UnknownIsNotFound) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AppendRevision(Rev("web", "a"), 0).ok());
  ASSERT_TRUE(store->AppendRevision(Rev("api", "a"), 0).ok());
  absl::StatusOr<StoredRollout> created =
      store->CreateRollout(Plan("web", 1, 1, clock_.Now()), std::nullopt, 1);
  ASSERT_TRUE(created.ok()) << created.status();

  StoredRollout unknown_id = *created;
  unknown_id.id = 2;
  EXPECT_EQ(store->UpdateRollout(unknown_id).code(),
            absl::StatusCode::kNotFound);
  StoredRollout other_app = *created;
  other_app.app = "api";
  EXPECT_EQ(store->UpdateRollout(other_app).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store->GetRollout("api", created->id).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store->GetRollout("web", 2).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreContractTest, UpdateRollout_InactiveLetsANewOneStartNotReactivate) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AppendRevision(Rev("web", "a"), 0).ok());
  absl::StatusOr<StoredRollout> first = store->CreateRollout(
      Plan("web", 1, 0, clock_.Now()), Rev("web", "b"), 1);
  ASSERT_TRUE(first.ok()) << first.status();

  StoredRollout done = *first;
  done.active = false;
  ASSERT_TRUE(store->UpdateRollout(done).ok());
  absl::StatusOr<StoredRollout> second = store->CreateRollout(
      Plan("web", 2, 0, clock_.Now()), Rev("web", "c"), 2);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->id, 2u);
  EXPECT_EQ(second->to_revision, 3u);

  // Making the first one active again would make two.
  absl::Status reactivate = store->UpdateRollout(*first);
  EXPECT_EQ(reactivate.code(), absl::StatusCode::kFailedPrecondition)
      << reactivate;
  EXPECT_THAT(reactivate.message(), HasSubstr("active rollout 2"));
  absl::StatusOr<StoredRollout> read = store->GetRollout("web", first->id);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_FALSE(read->active);
  // Updating the active one while it stays active is fine.
  StoredRollout progress = *second;
  progress.record = "step 2";
  EXPECT_TRUE(store->UpdateRollout(progress).ok());
}

TEST_P(StoreContractTest, ListRollouts_OldestFirstAlsoOfADeletedApp) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AppendRevision(Rev("web", "a"), 0).ok());
  ASSERT_TRUE(store->AppendRevision(Rev("api", "a"), 0).ok());

  absl::StatusOr<std::optional<StoredRollout>> none =
      store->LatestRollout("web");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());

  // web gets ids 1, 3, ..., 23 (past 9: numeric order, not text); api the
  // even ones.
  for (uint32_t i = 0; i < 12; ++i) {
    for (const std::string app : {"web", "api"}) {
      absl::StatusOr<StoredRollout> created = store->CreateRollout(
          Plan(app, i + 1, 0, clock_.Now(), absl::StrCat(app, i)),
          Rev(app, absl::StrCat("t", i)), i + 1);
      ASSERT_TRUE(created.ok()) << created.status();
      StoredRollout done = *created;
      done.active = false;
      ASSERT_TRUE(store->UpdateRollout(done).ok());
    }
  }
  ASSERT_TRUE(store->DeleteApp("web").ok());

  absl::StatusOr<std::vector<StoredRollout>> web = store->ListRollouts("web");
  ASSERT_TRUE(web.ok()) << web.status();
  ASSERT_THAT(*web, SizeIs(12));
  for (uint32_t i = 0; i < 12; ++i) {
    EXPECT_EQ((*web)[i].id, 2 * i + 1);
    EXPECT_EQ((*web)[i].app, "web");
    EXPECT_EQ((*web)[i].to_revision, i + 2);
    EXPECT_EQ((*web)[i].record, absl::StrCat("web", i));
  }
  absl::StatusOr<std::optional<StoredRollout>> latest =
      store->LatestRollout("web");
  ASSERT_TRUE(latest.ok()) << latest.status();
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->id, 23u);
  EXPECT_EQ((*latest)->record, "web11");

  absl::StatusOr<std::vector<StoredRollout>> unknown =
      store->ListRollouts("db");
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_THAT(*unknown, IsEmpty());
}

TEST_P(StoreContractTest, ActiveRollouts_OnlyActiveOnesById) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<StoredRollout>> empty = store->ActiveRollouts();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_THAT(*empty, IsEmpty());

  for (const std::string app : {"web", "api", "db"}) {
    ASSERT_TRUE(store->AppendRevision(Rev(app, "a"), 0).ok());
  }
  // 1: web, finished; 2: api, active; 3: db, active; 4: web, active.
  absl::StatusOr<StoredRollout> web1 =
      store->CreateRollout(Plan("web", 1, 1, clock_.Now()), std::nullopt, 1);
  ASSERT_TRUE(web1.ok()) << web1.status();
  StoredRollout done = *web1;
  done.active = false;
  ASSERT_TRUE(store->UpdateRollout(done).ok());
  ASSERT_TRUE(
      store->CreateRollout(Plan("api", 1, 1, clock_.Now()), std::nullopt, 1)
          .ok());
  ASSERT_TRUE(
      store->CreateRollout(Plan("db", 1, 1, clock_.Now()), std::nullopt, 1)
          .ok());
  ASSERT_TRUE(store
                  ->CreateRollout(Plan("web", 1, 0, clock_.Now()),
                                  Rev("web", "b"), 1)
                  .ok());

  absl::StatusOr<std::vector<StoredRollout>> active = store->ActiveRollouts();
  ASSERT_TRUE(active.ok()) << active.status();
  EXPECT_THAT(Ids(*active), ElementsAre(2u, 3u, 4u));
  ASSERT_THAT(*active, SizeIs(3));
  EXPECT_EQ((*active)[0].app, "api");
  EXPECT_EQ((*active)[2].app, "web");
  EXPECT_EQ((*active)[2].to_revision, 2u);
  for (const StoredRollout& rollout : *active) EXPECT_TRUE(rollout.active);
}

TEST_P(StoreContractTest, Rollouts_SurviveReopen) {
  StoredRollout created;
  StoredRollout updated;
  {
    std::unique_ptr<Store> store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->AppendRevision(Rev("web", "a"), 0).ok());
    absl::StatusOr<StoredRollout> first = store->CreateRollout(
        Plan("web", 1, 0, clock_.Now() + absl::Microseconds(1500)),
        Rev("web", "b"), 1);
    ASSERT_TRUE(first.ok()) << first.status();
    updated = *first;
    updated.active = false;
    updated.updated_at = clock_.Now() + absl::Minutes(3);
    updated.record = std::string("done\0!", 6);
    ASSERT_TRUE(store->UpdateRollout(updated).ok());
    absl::StatusOr<StoredRollout> second =
        store->CreateRollout(Plan("web", 2, 1, clock_.Now()), std::nullopt, 2);
    ASSERT_TRUE(second.ok()) << second.status();
    created = *second;
  }

  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<StoredRollout>> all = store->ListRollouts("web");
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_THAT(*all, SizeIs(2));
  ExpectSameRollout((*all)[0], updated);
  ExpectSameRollout((*all)[1], created);
  absl::StatusOr<std::vector<StoredRollout>> active = store->ActiveRollouts();
  ASSERT_TRUE(active.ok()) << active.status();
  EXPECT_THAT(Ids(*active), ElementsAre(created.id));
  // Still one active: the index came back with the file.
  EXPECT_EQ(
      store->CreateRollout(Plan("web", 2, 1, clock_.Now()), std::nullopt, 2)
          .status()
          .code(),
      absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<std::optional<StoredRevision>> current =
      store->CurrentRevision("web");
  ASSERT_TRUE(current.ok()) << current.status();
  ASSERT_TRUE(current->has_value());
  EXPECT_EQ((*current)->number, 2u);
}

// Threads on two stores (two connections to one file) race to start a
// rollout of the same app, each with its own revision: exactly one wins, and
// only its revision is appended.
TEST_P(StoreContractTest, CreateRollout_ConcurrentCallersExactlyOneWins) {
  constexpr int kThreads = 4;
  std::unique_ptr<Store> first = OpenStore();
  std::unique_ptr<Store> second = OpenStore();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(first->AppendRevision(Rev("web", "a"), 0).ok());
  const std::vector<Store*> stores = {first.get(), second.get()};

  std::latch start(kThreads);
  std::vector<absl::StatusOr<StoredRollout>> results(
      kThreads, absl::UnknownError("not run"));
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      start.arrive_and_wait();
      results[t] = stores[t % stores.size()]->CreateRollout(
          Plan("web", 1, 0, clock_.Now(), absl::StrCat("plan-", t)),
          Rev("web", absl::StrCat("t", t)), 1);
    });
  }
  for (std::thread& worker : workers) worker.join();

  int winner = -1;
  for (int t = 0; t < kThreads; ++t) {
    if (results[t].ok()) {
      EXPECT_EQ(winner, -1) << "threads " << winner << " and " << t << " won";
      winner = t;
    } else {
      EXPECT_EQ(results[t].status().code(),
                absl::StatusCode::kFailedPrecondition)
          << results[t].status();
    }
  }
  ASSERT_NE(winner, -1);
  EXPECT_EQ(results[winner]->to_revision, 2u);
  absl::StatusOr<std::vector<StoredRevision>> revisions =
      first->ListRevisions("web");
  ASSERT_TRUE(revisions.ok()) << revisions.status();
  ASSERT_THAT(*revisions, SizeIs(2));
  EXPECT_EQ((*revisions)[1].tag, absl::StrCat("t", winner));
  absl::StatusOr<std::vector<StoredRollout>> rollouts =
      second->ListRollouts("web");
  ASSERT_TRUE(rollouts.ok()) << rollouts.status();
  ASSERT_THAT(*rollouts, SizeIs(1));
  EXPECT_EQ((*rollouts)[0].record, absl::StrCat("plan-", winner));
}

}  // namespace
}  // namespace pyservice::controller
