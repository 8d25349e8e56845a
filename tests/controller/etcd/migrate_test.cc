// migrate: a SQLite store copied into an empty etcd store (a real 3-node
// cluster) reads back the same through the Store interface.
#include "controller/etcd/migrate.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "controller/etcd/etcd_client.h"
#include "common/tls/pki.h"
#include "controller/store/aes_gcm_spec_sealer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_secret_keys.h"

namespace pyservice::controller {
namespace {

using ::testing::HasSubstr;

StoredRevision Rev(const std::string& app, const std::string& tag) {
  StoredRevision revision;
  revision.app = app;
  revision.tag = tag;
  revision.digest = "sha256:" + tag;
  revision.spec = "spec-" + app + "-" + tag;
  return revision;
}

StoredRollout Plan(const std::string& app, uint32_t from, uint32_t to, absl::Time at,
                   bool active) {
  StoredRollout rollout;
  rollout.app = app;
  rollout.from_revision = from;
  rollout.to_revision = to;
  rollout.active = active;
  rollout.created_at = at;
  rollout.updated_at = at;
  rollout.record = absl::StrCat("record-", app, "-", to);
  return rollout;
}

class MigrateTest : public testing::EtcdClusterTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(testing::EtcdClusterTest::SetUp());
    client_ = NewClient();
    ASSERT_NE(client_, nullptr);
    absl::StatusOr<std::unique_ptr<EtcdStore>> etcd_store =
        EtcdStore::Open(*client_, clock_, sealer_);
    ASSERT_TRUE(etcd_store.ok()) << etcd_store.status();
    etcd_ = *std::move(etcd_store);
    absl::StatusOr<std::unique_ptr<SqliteStore>> sqlite =
        SqliteStore::Open(dir_.Join("data"), clock_, sealer_);
    ASSERT_TRUE(sqlite.ok()) << sqlite.status();
    sqlite_ = *std::move(sqlite);
  }

  // Apps web (3 revisions, a finished and an active rollout), api (deleted
  // after 1 revision), db (1 revision); two hosts.
  void FillSqlite() {
    ASSERT_TRUE(sqlite_->AppendRevision(Rev("web", "a"), 0).ok());
    clock_.Advance(absl::Seconds(1));
    ASSERT_TRUE(sqlite_->AppendRevision(Rev("api", "a"), 0).ok());
    ASSERT_TRUE(sqlite_->AppendRevision(Rev("db", "a"), 0).ok());
    absl::StatusOr<StoredRollout> done =
        sqlite_->CreateRollout(Plan("web", 1, 0, clock_.Now(), true), Rev("web", "b"), 1);
    ASSERT_TRUE(done.ok()) << done.status();
    done->active = false;
    ASSERT_TRUE(sqlite_->UpdateRollout(*done).ok());
    clock_.Advance(absl::Seconds(1));
    ASSERT_TRUE(
        sqlite_->CreateRollout(Plan("web", 2, 0, clock_.Now(), true), Rev("web", "c"), 2).ok());
    ASSERT_TRUE(sqlite_->DeleteApp("api").ok());
    ASSERT_TRUE(sqlite_
                    ->UpsertHosts({StoredHost{"h1", {{"role", "web"}}, "1.0", clock_.Now(),
                                              clock_.Now()},
                                   StoredHost{"h2", {}, "1.1", clock_.Now(), clock_.Now()}})
                    .ok());
  }

  absl::StatusOr<MigrationCounts> Migrate() {
    return MigrateSqliteToEtcd(*sqlite_, dir_.Join("data/ca"), *etcd_);
  }

  testing::FakeClock clock_;
  const SecretKeys keys_ = testing::TestSecretKeys();
  const AesGcmSpecSealer sealer_{keys_, "test.key"};
  std::unique_ptr<etcd::EtcdClient> client_;
  std::unique_ptr<EtcdStore> etcd_;
  std::unique_ptr<SqliteStore> sqlite_;
};

void ExpectSameRevisions(Store& a, Store& b, const std::string& app) {
  absl::StatusOr<std::vector<StoredRevision>> left = a.ListRevisions(app);
  absl::StatusOr<std::vector<StoredRevision>> right = b.ListRevisions(app);
  ASSERT_TRUE(left.ok() && right.ok());
  ASSERT_EQ(left->size(), right->size()) << app;
  for (size_t i = 0; i < left->size(); ++i) {
    absl::StatusOr<StoredRevision> l = a.GetRevision(app, (*left)[i].number);
    absl::StatusOr<StoredRevision> r = b.GetRevision(app, (*right)[i].number);
    ASSERT_TRUE(l.ok() && r.ok());
    EXPECT_EQ(l->number, r->number);
    EXPECT_EQ(l->tag, r->tag);
    EXPECT_EQ(l->digest, r->digest);
    EXPECT_EQ(l->created_at, r->created_at);
    EXPECT_EQ(l->spec, r->spec);
  }
}

TEST_F(MigrateTest, CopiesAppsRevisionsRolloutsAndHostsKeepingNumbersTimesAndIds) {
  FillSqlite();
  absl::StatusOr<MigrationCounts> copied = Migrate();
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_EQ(copied->apps, 3u);
  EXPECT_EQ(copied->revisions, 5u);
  EXPECT_EQ(copied->rollouts, 2u);
  EXPECT_EQ(copied->hosts, 2u);

  for (const std::string app : {"web", "api", "db"}) ExpectSameRevisions(*sqlite_, *etcd_, app);
  absl::StatusOr<std::vector<StoredApp>> apps = etcd_->ListApps();
  ASSERT_TRUE(apps.ok()) << apps.status();
  ASSERT_EQ(apps->size(), 2u);  // api stays deleted
  EXPECT_EQ((*apps)[0].name, "db");
  EXPECT_EQ((*apps)[1].latest.number, 3u);

  absl::StatusOr<std::vector<StoredRollout>> active = etcd_->ActiveRollouts();
  ASSERT_TRUE(active.ok()) << active.status();
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].id, 2u);
  EXPECT_EQ((*active)[0].to_revision, 3u);
  EXPECT_EQ((*active)[0].record, "record-web-0");
  absl::StatusOr<std::vector<StoredRollout>> rollouts = etcd_->ListRollouts("web");
  ASSERT_TRUE(rollouts.ok()) << rollouts.status();
  ASSERT_EQ(rollouts->size(), 2u);
  EXPECT_FALSE((*rollouts)[0].active);

  absl::StatusOr<std::vector<StoredHost>> hosts = etcd_->ListHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  ASSERT_EQ(hosts->size(), 2u);
  EXPECT_EQ((*hosts)[0].labels.at("role"), "web");
  EXPECT_EQ((*hosts)[1].agent_version, "1.1");

  // The copy carries on where SQLite stopped: numbers and ids are not reused,
  // the active rollout still blocks a second, the deleted app's numbers stay
  // taken.
  absl::StatusOr<StoredRevision> next = etcd_->AppendRevision(Rev("db", "b"), 1);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->number, 2u);
  EXPECT_EQ(etcd_->CreateRollout(Plan("web", 3, 3, clock_.Now(), true), std::nullopt, 3)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<StoredRollout> db_rollout =
      etcd_->CreateRollout(Plan("db", 2, 2, clock_.Now(), true), std::nullopt, 2);
  ASSERT_TRUE(db_rollout.ok()) << db_rollout.status();
  EXPECT_EQ(db_rollout->id, 3u);
  absl::StatusOr<StoredRevision> api_again = etcd_->AppendRevision(Rev("api", "b"), 0);
  ASSERT_TRUE(api_again.ok()) << api_again.status();
  EXPECT_EQ(api_again->number, 2u);
}

TEST_F(MigrateTest, CopiesTokensEnrollmentsCertificatesAndTheCaKeepingIdsSerialsAndTimes) {
  StoredToken token;
  token.name = "ops";
  token.role = 3;
  token.apps = {"web-*"};
  token.secret_hash = "hash-ops";
  token.created_at = clock_.Now();
  token.expires_at = clock_.Now() + absl::Hours(5);
  ASSERT_TRUE(sqlite_->CreateToken(token).ok());
  token.name = "gone";
  token.expires_at.reset();
  ASSERT_TRUE(sqlite_->CreateToken(token).ok());
  ASSERT_TRUE(sqlite_->RevokeToken("gone").ok());
  StoredEnrollmentToken enrollment;
  enrollment.host = "h1";
  enrollment.labels = {{"role", "web"}};
  enrollment.secret_hash = "hash-h1";
  enrollment.created_at = clock_.Now();
  enrollment.expires_at = clock_.Now() + absl::Hours(1);
  ASSERT_TRUE(sqlite_->CreateEnrollmentToken(enrollment).ok());
  enrollment.host = "h2";
  ASSERT_TRUE(sqlite_->CreateEnrollmentToken(enrollment).ok());  // stays unused
  ASSERT_TRUE(sqlite_
                  ->EnrollHost(1, "hash-h1", clock_.Now(),
                               {"0a", "h1", clock_.Now(), clock_.Now() + absl::Hours(9), false})
                  .ok());
  ASSERT_TRUE(sqlite_->AddCertificate({"0b", "h1", clock_.Now(), clock_.Now(), false}).ok());
  absl::StatusOr<std::unique_ptr<tls::CertificateAuthority>> ca =
      tls::CertificateAuthority::LoadOrCreate(dir_.Join("data/ca"), "test", clock_);
  ASSERT_TRUE(ca.ok()) << ca.status();

  absl::StatusOr<MigrationCounts> copied = Migrate();
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_EQ(copied->tokens, 2u);
  EXPECT_EQ(copied->enrollment_tokens, 2u);
  EXPECT_EQ(copied->enrolled_hosts, 1u);
  EXPECT_EQ(copied->certificates, 2u);
  EXPECT_TRUE(copied->ca);

  absl::StatusOr<std::vector<StoredToken>> tokens = etcd_->ListTokens();
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ASSERT_EQ(tokens->size(), 2u);
  EXPECT_EQ((*tokens)[0].id, 1u);
  EXPECT_EQ((*tokens)[0].apps, std::vector<std::string>{"web-*"});
  EXPECT_EQ((*tokens)[0].expires_at, clock_.Now() + absl::Hours(5));
  EXPECT_EQ((*tokens)[0].secret_hash, "hash-ops");
  EXPECT_TRUE((*tokens)[1].revoked);
  absl::StatusOr<std::vector<StoredCertificate>> certificates = etcd_->ListCertificates();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  ASSERT_EQ(certificates->size(), 2u);
  EXPECT_EQ((*certificates)[0].serial, "0a");
  EXPECT_EQ((*certificates)[0].not_after, clock_.Now() + absl::Hours(9));
  absl::StatusOr<std::vector<EnrolledHost>> hosts = etcd_->ListEnrolledHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_EQ((*hosts)[0].labels.at("role"), "web");
  absl::StatusOr<StoredEnrollmentToken> unused = etcd_->GetEnrollmentToken(2);
  ASSERT_TRUE(unused.ok()) << unused.status();
  EXPECT_FALSE(unused->used_at.has_value());
  absl::StatusOr<std::optional<StoredAgentCa>> stored_ca = etcd_->GetAgentCa();
  ASSERT_TRUE(stored_ca.ok()) << stored_ca.status();
  ASSERT_TRUE(stored_ca->has_value());
  EXPECT_EQ((*stored_ca)->certificate_pem, (*ca)->certificate_pem());

  // Names and ids carry on: no reuse after the copy.
  token.name = "ops";
  EXPECT_EQ(etcd_->CreateToken(token).status().code(), absl::StatusCode::kAlreadyExists);
  token.name = "new";
  absl::StatusOr<StoredToken> next = etcd_->CreateToken(token);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->id, 3u);
  absl::StatusOr<StoredEnrollmentToken> next_enrollment = etcd_->CreateEnrollmentToken(enrollment);
  ASSERT_TRUE(next_enrollment.ok()) << next_enrollment.status();
  EXPECT_EQ(next_enrollment->id, 3u);
}

TEST_F(MigrateTest, IntoANonEmptyEtcdStoreIsRefusedWritingNothing) {
  FillSqlite();
  ASSERT_TRUE(etcd_->AppendRevision(Rev("other", "a"), 0).ok());
  absl::StatusOr<MigrationCounts> copied = Migrate();
  EXPECT_EQ(copied.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(copied.status().message(), HasSubstr("empty"));
  absl::StatusOr<std::vector<StoredApp>> apps = etcd_->ListApps();
  ASSERT_TRUE(apps.ok()) << apps.status();
  ASSERT_EQ(apps->size(), 1u);
  EXPECT_EQ((*apps)[0].name, "other");
}

}  // namespace
}  // namespace pyservice::controller
