// The agents' CA of controllers on etcd (controller/etcd/etcd_agent_ca.h):
// imported from a CA dir once, created when there is none, the cluster's
// one used afterwards, a conflicting --ca-dir refused. A real 3-node etcd.
#include "controller/etcd/etcd_agent_ca.h"

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/tls/pki.h"
#include "controller/etcd/etcd_client.h"
#include "controller/store/aes_gcm_spec_sealer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_secret_keys.h"

namespace pyservice::controller::etcd {
namespace {

using ::testing::HasSubstr;

class EtcdAgentCaTest : public testing::EtcdClusterTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(testing::EtcdClusterTest::SetUp());
    client_ = NewClient();
    ASSERT_NE(client_, nullptr);
    absl::StatusOr<std::unique_ptr<EtcdStore>> store = EtcdStore::Open(*client_, clock_, sealer_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // A CA in a dir of its own, as LoadOrCreate writes it.
  std::string CaDirWithCa(const std::string& name) {
    const std::string ca_dir = dir_.Join(name);
    absl::StatusOr<std::unique_ptr<tls::CertificateAuthority>> ca =
        tls::CertificateAuthority::LoadOrCreate(ca_dir, name, clock_);
    EXPECT_TRUE(ca.ok()) << ca.status();
    return ca_dir;
  }

  std::string PemIn(const std::string& ca_dir) {
    absl::StatusOr<std::optional<tls::CaMaterial>> ca =
        tls::CertificateAuthority::ReadCaDir(ca_dir);
    EXPECT_TRUE(ca.ok() && ca->has_value());
    return ca.ok() && ca->has_value() ? (*ca)->certificate_pem : "";
  }

  testing::FakeClock clock_;
  const SecretKeys keys_ = testing::TestSecretKeys();
  const AesGcmSpecSealer sealer_{keys_, "test.key"};
  std::unique_ptr<EtcdClient> client_;
  std::unique_ptr<EtcdStore> store_;
};

TEST_F(EtcdAgentCaTest, ImportsTheCaDirWhenEtcdHasNoneAndLaterControllersLoadIt) {
  const std::string ca_dir = CaDirWithCa("first");
  absl::StatusOr<std::unique_ptr<tls::CertificateAuthority>> first =
      LoadOrCreateEtcdAgentCa(*store_, {.ca_dir = ca_dir}, clock_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*first)->certificate_pem(), PemIn(ca_dir));

  // A second controller with an empty data dir: the cluster's CA, no new one.
  absl::StatusOr<std::unique_ptr<tls::CertificateAuthority>> second =
      LoadOrCreateEtcdAgentCa(*store_, {.ca_dir = dir_.Join("empty")}, clock_);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)->certificate_pem(), PemIn(ca_dir));
}

TEST_F(EtcdAgentCaTest, CreatesOneInEtcdWithoutFilesWhenThereIsNone) {
  absl::StatusOr<std::unique_ptr<tls::CertificateAuthority>> created =
      LoadOrCreateEtcdAgentCa(*store_, {.ca_dir = dir_.Join("none")}, clock_);
  ASSERT_TRUE(created.ok()) << created.status();
  absl::StatusOr<std::optional<StoredAgentCa>> stored = store_->GetAgentCa();
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->certificate_pem, (*created)->certificate_pem());
  absl::StatusOr<std::optional<tls::CaMaterial>> files =
      tls::CertificateAuthority::ReadCaDir(dir_.Join("none"));
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_FALSE(files->has_value());
}

TEST_F(EtcdAgentCaTest, AnExplicitCaDirWithAnotherCaIsRefusedTheDefaultOneIsIgnored) {
  const std::string cluster_dir = CaDirWithCa("cluster");
  ASSERT_TRUE(LoadOrCreateEtcdAgentCa(*store_, {.ca_dir = cluster_dir}, clock_).ok());
  const std::string other_dir = CaDirWithCa("other");

  absl::StatusOr<std::unique_ptr<tls::CertificateAuthority>> refused =
      LoadOrCreateEtcdAgentCa(*store_, {.ca_dir = other_dir, .ca_dir_given = true}, clock_);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr(other_dir));

  absl::StatusOr<std::unique_ptr<tls::CertificateAuthority>> defaulted =
      LoadOrCreateEtcdAgentCa(*store_, {.ca_dir = other_dir}, clock_);
  ASSERT_TRUE(defaulted.ok()) << defaulted.status();
  EXPECT_EQ((*defaulted)->certificate_pem(), PemIn(cluster_dir));

  // The same CA named explicitly is fine.
  EXPECT_TRUE(
      LoadOrCreateEtcdAgentCa(*store_, {.ca_dir = cluster_dir, .ca_dir_given = true}, clock_)
          .ok());
}

// A broken default CA dir (half a pair) does not stop a controller once the
// cluster has its CA; named with --ca-dir, or with no CA in etcd, it does.
TEST_F(EtcdAgentCaTest, ABrokenDefaultCaDirIsIgnoredOnlyOnceEtcdHasTheCa) {
  const std::string broken = CaDirWithCa("broken");
  ASSERT_EQ(std::remove((broken + "/ca.key").c_str()), 0);
  EXPECT_EQ(LoadOrCreateEtcdAgentCa(*store_, {.ca_dir = broken}, clock_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(LoadOrCreateEtcdAgentCa(*store_, {.ca_dir = dir_.Join("none")}, clock_).ok());
  EXPECT_TRUE(LoadOrCreateEtcdAgentCa(*store_, {.ca_dir = broken}, clock_).ok());
  EXPECT_EQ(LoadOrCreateEtcdAgentCa(*store_, {.ca_dir = broken, .ca_dir_given = true}, clock_)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace pyservice::controller::etcd
