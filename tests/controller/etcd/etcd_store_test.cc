// What only the etcd store has, on a real 3-node cluster: the client's
// failover between members, the leader fence on writes, and the URL. The
// Store contract itself runs against etcd in store_contract_test.cc.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/etcd/etcd_client.h"
#include "controller/store/aes_gcm_spec_sealer.h"
#include "controller/store/etcd_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_secret_keys.h"

namespace pyservice::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

StoredRevision Rev(const std::string& app, const std::string& tag) {
  StoredRevision revision;
  revision.app = app;
  revision.tag = tag;
  revision.digest = "sha256:" + tag;
  revision.spec = "spec-" + tag;
  return revision;
}

class EtcdStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<testing::EtcdCluster>> cluster =
        testing::EtcdCluster::Start(dir_.path());
    ASSERT_TRUE(cluster.ok()) << "cannot start the etcd cluster: " << cluster.status();
    cluster_ = *std::move(cluster);
    absl::StatusOr<std::unique_ptr<etcd::EtcdClient>> client =
        etcd::EtcdClient::Create(cluster_->endpoints(), absl::Seconds(3));
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    absl::StatusOr<std::unique_ptr<EtcdStore>> store =
        EtcdStore::Open(*client_, clock_, sealer_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  const SecretKeys keys_ = testing::TestSecretKeys();
  const AesGcmSpecSealer sealer_{keys_, "test.key"};
  std::unique_ptr<testing::EtcdCluster> cluster_;
  std::unique_ptr<etcd::EtcdClient> client_;
  std::unique_ptr<EtcdStore> store_;
};

// The client talks to the first member until it fails; then the next.
TEST_F(EtcdStoreTest, KeepsServingWhenTheMemberItTalksToIsKilled) {
  ASSERT_TRUE(store_->AppendRevision(Rev("web", "a"), 0).ok());
  cluster_->Kill(0);
  absl::StatusOr<StoredRevision> appended = store_->AppendRevision(Rev("web", "b"), 1);
  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_EQ(appended->number, 2u);
  absl::StatusOr<std::optional<StoredRevision>> current = store_->CurrentRevision("web");
  ASSERT_TRUE(current.ok()) << current.status();
  ASSERT_TRUE(current->has_value());
  EXPECT_EQ((*current)->number, 2u);
  EXPECT_EQ((*current)->spec, "spec-b");
}

TEST_F(EtcdStoreTest, SpecsAreSealedInEtcd) {
  ASSERT_TRUE(store_->AppendRevision(Rev("web", "a"), 0).ok());
  etcdserverpb::RangeRequest request;
  request.set_key("/pyservice/");
  request.set_range_end(etcd::PrefixRangeEnd("/pyservice/"));
  absl::StatusOr<etcdserverpb::RangeResponse> everything = client_->Range(request);
  ASSERT_TRUE(everything.ok()) << everything.status();
  ASSERT_GT(everything->kvs_size(), 0);
  for (const mvccpb::KeyValue& kv : everything->kvs()) {
    EXPECT_THAT(kv.value(), ::testing::Not(HasSubstr("spec-a"))) << kv.key();
  }
}

// A controller whose leadership ended (its leader key is gone or another's)
// writes nothing.
TEST_F(EtcdStoreTest, WritesAfterTheLeaderKeyChangedAreRefusedAndWriteNothing) {
  etcdserverpb::PutRequest put;
  put.set_key("/pyservice/leader");
  put.set_value("me");
  absl::StatusOr<etcdserverpb::PutResponse> mine = client_->Put(put);
  ASSERT_TRUE(mine.ok()) << mine.status();
  store_->SetLeaderFence("/pyservice/leader", mine->header().revision());
  ASSERT_TRUE(store_->AppendRevision(Rev("web", "a"), 0).ok());

  // Another controller's leadership: deleted and created again.
  etcdserverpb::DeleteRangeRequest gone;
  gone.set_key("/pyservice/leader");
  ASSERT_TRUE(client_->DeleteRange(gone).ok());
  put.set_value("another");
  ASSERT_TRUE(client_->Put(put).ok());

  absl::StatusOr<StoredRevision> refused = store_->AppendRevision(Rev("web", "b"), 1);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("no longer the leader"));
  EXPECT_EQ(store_->DeleteApp("web").code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<std::vector<StoredRevision>> revisions = store_->ListRevisions("web");
  ASSERT_TRUE(revisions.ok()) << revisions.status();
  ASSERT_EQ(revisions->size(), 1u);
  absl::StatusOr<std::optional<StoredRevision>> current = store_->CurrentRevision("web");
  ASSERT_TRUE(current.ok() && current->has_value());
}

TEST(EtcdUrlTest, ListsEndpointsInOrder) {
  absl::StatusOr<std::vector<std::string>> endpoints =
      etcd::ParseEtcdUrl("etcd://10.0.0.1:2379,db-2:2379,[::1]:2379");
  ASSERT_TRUE(endpoints.ok()) << endpoints.status();
  EXPECT_THAT(*endpoints, ElementsAre("10.0.0.1:2379", "db-2:2379", "[::1]:2379"));
}

TEST(EtcdUrlTest, BadUrlsAreRefusedNamingThePart) {
  EXPECT_THAT(etcd::ParseEtcdUrl("http://a:1").status().message(),
              HasSubstr("etcd://HOST:PORT"));
  EXPECT_THAT(etcd::ParseEtcdUrl("etcd://a:1,b").status().message(),
              HasSubstr("\"b\" is not HOST:PORT"));
  EXPECT_THAT(etcd::ParseEtcdUrl("etcd://a:99999").status().message(),
              HasSubstr("\"a:99999\" is not HOST:PORT"));
  EXPECT_FALSE(etcd::ParseEtcdUrl("etcd://").ok());
}

TEST(EtcdUrlTest, PrefixRangeEndIncrementsTheLastByte) {
  EXPECT_EQ(etcd::PrefixRangeEnd("/a/"), "/a0");
  EXPECT_EQ(etcd::PrefixRangeEnd(std::string("a\xff", 2)), "b");
}

}  // namespace
}  // namespace pyservice::controller
