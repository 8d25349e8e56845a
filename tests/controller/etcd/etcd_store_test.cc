// What only the etcd store has, on a real 3-node cluster: the client's
// failover between members, the leader fence on writes, the shared agents'
// CA, and the URL. The
// Store contract itself runs against etcd in store_contract_test.cc.
#include <latch>
#include <memory>
#include <optional>
#include <thread>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/tls/pki.h"
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

class EtcdStoreTest : public testing::EtcdClusterTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(testing::EtcdClusterTest::SetUp());
    client_ = NewClient(absl::Seconds(3));
    ASSERT_NE(client_, nullptr);
    absl::StatusOr<std::unique_ptr<EtcdStore>> store =
        EtcdStore::Open(*client_, clock_, sealer_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  testing::FakeClock clock_;
  const SecretKeys keys_ = testing::TestSecretKeys();
  const AesGcmSpecSealer sealer_{keys_, "test.key"};
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
  // The access half is fenced too.
  StoredToken token;
  token.name = "ops";
  absl::StatusOr<StoredToken> refused_token = store_->CreateToken(token);
  EXPECT_EQ(refused_token.status().code(), absl::StatusCode::kFailedPrecondition)
      << refused_token.status();
  absl::StatusOr<std::vector<StoredToken>> tokens = store_->ListTokens();
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_TRUE(tokens->empty());
}

StoredAgentCa NewCa(const Clock& clock, const std::string& name) {
  absl::StatusOr<tls::CaMaterial> ca = tls::CertificateAuthority::NewCaMaterial(name, clock.Now());
  EXPECT_TRUE(ca.ok()) << ca.status();
  return ca.ok() ? StoredAgentCa{ca->certificate_pem, ca->key_pem} : StoredAgentCa{};
}

// Controllers starting at once each offer a CA: the cluster keeps one, and
// every one of them is handed that one.
TEST_F(EtcdStoreTest, CreateAgentCaIfAbsent_RacingStoresEndWithOneCa) {
  constexpr int kStores = 4;
  std::vector<std::unique_ptr<etcd::EtcdClient>> clients;
  std::vector<std::unique_ptr<EtcdStore>> stores;
  std::vector<StoredAgentCa> offered;
  for (int i = 0; i < kStores; ++i) {
    clients.push_back(*etcd::EtcdClient::Create(cluster_->endpoints()));
    stores.push_back(*EtcdStore::Open(*clients.back(), clock_, sealer_));
    offered.push_back(NewCa(clock_, absl::StrCat("ca-", i)));
  }
  std::latch start(kStores);
  std::vector<absl::StatusOr<StoredAgentCa>> results(kStores, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kStores; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = stores[i]->CreateAgentCaIfAbsent(offered[i]);
    });
  }
  for (std::thread& thread : threads) thread.join();
  absl::StatusOr<std::optional<StoredAgentCa>> stored = store_->GetAgentCa();
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_TRUE(stored->has_value());
  for (const absl::StatusOr<StoredAgentCa>& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->certificate_pem, (*stored)->certificate_pem);
    EXPECT_EQ(result->key_pem, (*stored)->key_pem);
  }
}

TEST_F(EtcdStoreTest, AgentCaKeyIsSealedInEtcdAndOpensOnlyWithTheSecretsKey) {
  const StoredAgentCa ca = NewCa(clock_, "agents");
  ASSERT_TRUE(store_->CreateAgentCaIfAbsent(ca).ok());
  etcdserverpb::RangeRequest request;
  request.set_key("/pyservice/agent_ca");
  absl::StatusOr<etcdserverpb::RangeResponse> raw = client_->Range(request);
  ASSERT_TRUE(raw.ok()) << raw.status();
  ASSERT_EQ(raw->kvs_size(), 1);
  EXPECT_THAT(raw->kvs(0).value(), ::testing::Not(HasSubstr("PRIVATE KEY")));

  const SecretKeys other_keys = testing::TestSecretKeys('o');
  const AesGcmSpecSealer other_sealer{other_keys, "other.key"};
  absl::StatusOr<std::unique_ptr<EtcdStore>> other =
      EtcdStore::Open(*client_, clock_, other_sealer);
  ASSERT_TRUE(other.ok()) << other.status();
  absl::StatusOr<std::optional<StoredAgentCa>> opened = (*other)->GetAgentCa();
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition) << opened.status();
  EXPECT_THAT(opened.status().message(), HasSubstr("agents' CA key"));
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
