// The AccessStore contract (controller/store/access_store.h), run against
// both backends (tests/testing/store_backends.h): the embedded SQLite store
// and the etcd store on a real 3-node etcd cluster. A test named .../etcd
// fails, saying why, when etcd is not installed.
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
#include "controller/store/access_store.h"
#include "controller/store/aes_gcm_spec_sealer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/store_backends.h"
#include "tests/testing/test_secret_keys.h"

namespace pyservice::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class AccessStoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<testing::StoreBackend>> backend =
        testing::StoreBackend::Make(GetParam());
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);
    store_ = Open();
    ASSERT_NE(store_, nullptr);
  }

  // Another store over the same state (what a second controller has).
  std::unique_ptr<AccessStore> Open() {
    absl::StatusOr<std::unique_ptr<AccessStore>> store = backend_->OpenAccess(clock_, sealer_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  StoredToken Token(const std::string& name) {
    StoredToken token;
    token.name = name;
    token.role = 2;
    token.apps = {"web", "api-*"};
    token.secret_hash = absl::StrCat("hash-", name);
    // Sub-millisecond parts are dropped: both backends keep milliseconds.
    token.created_at = clock_.Now() + absl::Microseconds(1500);
    return token;
  }

  StoredEnrollmentToken Enrollment(const std::string& host,
                                   std::map<std::string, std::string> labels = {}) {
    StoredEnrollmentToken token;
    token.host = host;
    token.labels = std::move(labels);
    token.secret_hash = absl::StrCat("hash-", host);
    token.created_at = clock_.Now();
    token.expires_at = clock_.Now() + absl::Hours(1);
    return token;
  }

  StoredCertificate Certificate(const std::string& serial, const std::string& host) {
    return StoredCertificate{serial, host, clock_.Now(), clock_.Now() + absl::Hours(24), false};
  }

  // Enrolls `host` with a new enrollment token and certificate `serial`.
  void Enroll(const std::string& host, const std::string& serial,
              std::map<std::string, std::string> labels = {}) {
    absl::StatusOr<StoredEnrollmentToken> token =
        store_->CreateEnrollmentToken(Enrollment(host, std::move(labels)));
    ASSERT_TRUE(token.ok()) << token.status();
    absl::StatusOr<StoredEnrollmentToken> used = store_->EnrollHost(
        token->id, token->secret_hash, clock_.Now(), Certificate(serial, host));
    ASSERT_TRUE(used.ok()) << used.status();
  }

  testing::FakeClock clock_;
  const SecretKeys keys_ = testing::TestSecretKeys();
  const AesGcmSpecSealer sealer_{keys_, "test.key"};
  std::unique_ptr<testing::StoreBackend> backend_;
  std::unique_ptr<AccessStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, AccessStoreContractTest, ::testing::Values("sqlite", "etcd"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST_P(AccessStoreContractTest, CreateToken_IdsFromOneFieldsKeptToTheMillisecond) {
  StoredToken ops = Token("ops");
  ops.expires_at = clock_.Now() + absl::Hours(2);
  absl::StatusOr<StoredToken> first = store_->CreateToken(ops);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<StoredToken> second = store_->CreateToken(Token("ci"));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->id, 1u);
  EXPECT_EQ(second->id, 2u);

  absl::StatusOr<std::vector<StoredToken>> tokens = Open()->ListTokens();
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ASSERT_THAT(*tokens, SizeIs(2));
  const StoredToken& listed = (*tokens)[0];
  EXPECT_EQ(listed.id, 1u);
  EXPECT_EQ(listed.name, "ops");
  EXPECT_EQ(listed.role, 2);
  EXPECT_THAT(listed.apps, ElementsAre("web", "api-*"));
  EXPECT_EQ(listed.secret_hash, "hash-ops");
  EXPECT_EQ(listed.created_at, clock_.Now() + absl::Milliseconds(1));
  EXPECT_EQ(listed.expires_at, clock_.Now() + absl::Hours(2));
  EXPECT_FALSE(listed.revoked);
  EXPECT_EQ((*tokens)[1].expires_at, std::nullopt);
}

TEST_P(AccessStoreContractTest, CreateToken_NameTakenEvenWhenRevokedIsAlreadyExists) {
  ASSERT_TRUE(store_->CreateToken(Token("ops")).ok());
  ASSERT_TRUE(store_->RevokeToken("ops").ok());
  absl::StatusOr<StoredToken> again = store_->CreateToken(Token("ops"));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists) << again.status();
  EXPECT_THAT(again.status().message(), HasSubstr("never reused"));
  absl::StatusOr<std::vector<StoredToken>> tokens = store_->ListTokens();
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_THAT(*tokens, SizeIs(1));
}

TEST_P(AccessStoreContractTest, CreateToken_EmptyNameIsInvalid) {
  EXPECT_EQ(store_->CreateToken(Token("")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(AccessStoreContractTest, RevokeToken_MarksItRevokedUnknownIsNotFoundTwiceIsOk) {
  ASSERT_TRUE(store_->CreateToken(Token("ops")).ok());
  ASSERT_TRUE(store_->CreateToken(Token("ci")).ok());
  ASSERT_TRUE(store_->RevokeToken("ops").ok());
  EXPECT_TRUE(store_->RevokeToken("ops").ok());
  EXPECT_EQ(store_->RevokeToken("nobody").code(), absl::StatusCode::kNotFound);
  absl::StatusOr<std::vector<StoredToken>> tokens = Open()->ListTokens();
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ASSERT_THAT(*tokens, SizeIs(2));
  EXPECT_TRUE((*tokens)[0].revoked);
  EXPECT_FALSE((*tokens)[1].revoked);
}

TEST_P(AccessStoreContractTest, CreateToken_ConcurrentStoresGetDistinctIdsAndOneWinsEachName) {
  constexpr int kThreads = 4;
  std::vector<std::unique_ptr<AccessStore>> stores;
  for (int i = 0; i < kThreads; ++i) stores.push_back(Open());
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  std::vector<int> created(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < 5; ++i) {
        // Every thread tries every name: each name is created once.
        absl::StatusOr<StoredToken> token = stores[t]->CreateToken(Token(absl::StrCat("t", i)));
        if (token.ok()) ++created[t];
        if (!token.ok()) EXPECT_EQ(token.status().code(), absl::StatusCode::kAlreadyExists);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  absl::StatusOr<std::vector<StoredToken>> tokens = store_->ListTokens();
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ASSERT_THAT(*tokens, SizeIs(5));
  std::set<uint32_t> ids;
  std::set<std::string> names;
  for (const StoredToken& token : *tokens) {
    ids.insert(token.id);
    names.insert(token.name);
  }
  EXPECT_THAT(ids, SizeIs(5));
  EXPECT_THAT(names, SizeIs(5));
  EXPECT_EQ(created[0] + created[1] + created[2] + created[3], 5);
}

TEST_P(AccessStoreContractTest, CreateEnrollmentToken_GetReturnsItUnusedUnknownIsNotFound) {
  absl::StatusOr<StoredEnrollmentToken> created =
      store_->CreateEnrollmentToken(Enrollment("h1", {{"role", "web"}}));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->id, 1u);
  absl::StatusOr<StoredEnrollmentToken> got = Open()->GetEnrollmentToken(created->id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->host, "h1");
  EXPECT_EQ(got->labels.at("role"), "web");
  EXPECT_EQ(got->secret_hash, "hash-h1");
  EXPECT_EQ(got->expires_at, clock_.Now() + absl::Hours(1));
  EXPECT_FALSE(got->used_at.has_value());
  EXPECT_EQ(store_->GetEnrollmentToken(99).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->CreateEnrollmentToken(Enrollment("")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(AccessStoreContractTest, EnrollHost_UsesTheTokenRecordsHostLabelsAndCertificate) {
  absl::StatusOr<StoredEnrollmentToken> token =
      store_->CreateEnrollmentToken(Enrollment("h1", {{"role", "web"}}));
  ASSERT_TRUE(token.ok()) << token.status();
  clock_.Advance(absl::Minutes(1));
  absl::StatusOr<StoredEnrollmentToken> used =
      store_->EnrollHost(token->id, "hash-h1", clock_.Now(), Certificate("0a", "h1"));
  ASSERT_TRUE(used.ok()) << used.status();
  EXPECT_FALSE(used->used_at.has_value());  // as it was before use
  EXPECT_EQ(used->labels.at("role"), "web");

  std::unique_ptr<AccessStore> other = Open();
  absl::StatusOr<StoredEnrollmentToken> after = other->GetEnrollmentToken(token->id);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->used_at, clock_.Now());
  absl::StatusOr<std::vector<EnrolledHost>> hosts = other->ListEnrolledHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  ASSERT_THAT(*hosts, SizeIs(1));
  EXPECT_EQ((*hosts)[0].name, "h1");
  EXPECT_EQ((*hosts)[0].labels.at("role"), "web");
  EXPECT_EQ((*hosts)[0].enrolled_at, clock_.Now());
  absl::StatusOr<std::vector<StoredCertificate>> certificates = other->ListCertificates();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  ASSERT_THAT(*certificates, SizeIs(1));
  EXPECT_EQ((*certificates)[0].serial, "0a");
  EXPECT_EQ((*certificates)[0].host, "h1");
  EXPECT_EQ((*certificates)[0].not_after, clock_.Now() + absl::Hours(24));
  EXPECT_FALSE((*certificates)[0].revoked);
}

TEST_P(AccessStoreContractTest, EnrollHost_BadTokensAreUnauthenticatedAndWriteNothing) {
  absl::StatusOr<StoredEnrollmentToken> token = store_->CreateEnrollmentToken(Enrollment("h1"));
  ASSERT_TRUE(token.ok()) << token.status();
  absl::StatusOr<StoredEnrollmentToken> unknown =
      store_->EnrollHost(99, "hash-h1", clock_.Now(), Certificate("01", "h1"));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kUnauthenticated);
  absl::StatusOr<StoredEnrollmentToken> wrong =
      store_->EnrollHost(token->id, "not-the-hash", clock_.Now(), Certificate("02", "h1"));
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(unknown.status().message(), wrong.status().message());
  absl::StatusOr<StoredEnrollmentToken> expired = store_->EnrollHost(
      token->id, "hash-h1", clock_.Now() + absl::Hours(1), Certificate("03", "h1"));
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(expired.status().message(), HasSubstr("expired"));

  absl::StatusOr<std::vector<EnrolledHost>> hosts = store_->ListEnrolledHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  EXPECT_THAT(*hosts, IsEmpty());
  absl::StatusOr<std::vector<StoredCertificate>> certificates = store_->ListCertificates();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  EXPECT_THAT(*certificates, IsEmpty());

  ASSERT_TRUE(
      store_->EnrollHost(token->id, "hash-h1", clock_.Now(), Certificate("04", "h1")).ok());
  absl::StatusOr<StoredEnrollmentToken> reused =
      store_->EnrollHost(token->id, "hash-h1", clock_.Now(), Certificate("05", "h1"));
  EXPECT_EQ(reused.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(reused.status().message(), HasSubstr("already used"));
  certificates = store_->ListCertificates();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  EXPECT_THAT(*certificates, SizeIs(1));
}

TEST_P(AccessStoreContractTest, EnrollHost_ConcurrentUsesOfOneTokenExactlyOneWins) {
  absl::StatusOr<StoredEnrollmentToken> token = store_->CreateEnrollmentToken(Enrollment("h1"));
  ASSERT_TRUE(token.ok()) << token.status();
  constexpr int kThreads = 4;
  std::vector<std::unique_ptr<AccessStore>> stores;
  for (int i = 0; i < kThreads; ++i) stores.push_back(Open());
  std::latch start(kThreads);
  std::vector<absl::Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      results[t] = stores[t]
                       ->EnrollHost(token->id, "hash-h1", clock_.Now(),
                                    Certificate(absl::StrCat("0", t), "h1"))
                       .status();
    });
  }
  for (std::thread& thread : threads) thread.join();
  int won = 0;
  for (const absl::Status& result : results) {
    if (result.ok()) {
      ++won;
    } else {
      EXPECT_EQ(result.code(), absl::StatusCode::kUnauthenticated) << result;
    }
  }
  EXPECT_EQ(won, 1);
  absl::StatusOr<std::vector<StoredCertificate>> certificates = store_->ListCertificates();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  EXPECT_THAT(*certificates, SizeIs(1));
}

TEST_P(AccessStoreContractTest, EnrollHost_AgainReplacesTheLabelsAndKeepsOldCertificates) {
  Enroll("h1", "0a", {{"role", "web"}});
  Enroll("h1", "0b", {{"role", "db"}});
  absl::StatusOr<std::vector<EnrolledHost>> hosts = store_->ListEnrolledHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  ASSERT_THAT(*hosts, SizeIs(1));
  EXPECT_EQ((*hosts)[0].labels.at("role"), "db");
  absl::StatusOr<std::vector<StoredCertificate>> certificates = store_->ListCertificates();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  EXPECT_THAT(*certificates, SizeIs(2));
}

TEST_P(AccessStoreContractTest, AddCertificate_RecordsARenewalOfAnEnrolledHostOnly) {
  Enroll("h1", "0a");
  ASSERT_TRUE(store_->AddCertificate(Certificate("0b", "h1")).ok());
  EXPECT_EQ(store_->AddCertificate(Certificate("0c", "h2")).code(), absl::StatusCode::kNotFound);
  absl::StatusOr<std::vector<StoredCertificate>> certificates = Open()->ListCertificates();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  ASSERT_THAT(*certificates, SizeIs(2));
  EXPECT_EQ((*certificates)[1].serial, "0b");
  EXPECT_EQ((*certificates)[1].host, "h1");
}

TEST_P(AccessStoreContractTest, ListCertificates_BySerialAcrossHosts) {
  Enroll("b-host", "01");
  Enroll("a-host", "03");
  ASSERT_TRUE(store_->AddCertificate(Certificate("02", "b-host")).ok());
  absl::StatusOr<std::vector<StoredCertificate>> certificates = store_->ListCertificates();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  ASSERT_THAT(*certificates, SizeIs(3));
  EXPECT_EQ((*certificates)[0].serial, "01");
  EXPECT_EQ((*certificates)[1].serial, "02");
  EXPECT_EQ((*certificates)[2].serial, "03");
  EXPECT_EQ((*certificates)[2].host, "a-host");
}

TEST_P(AccessStoreContractTest, RevokeHost_RevokesOnlyItsCertificatesCountsNewlyRevoked) {
  Enroll("h1", "0a");
  ASSERT_TRUE(store_->AddCertificate(Certificate("0b", "h1")).ok());
  Enroll("h10", "0c");  // a name h1 is a prefix of
  absl::StatusOr<uint32_t> revoked = store_->RevokeHost("h1");
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(*revoked, 2u);
  absl::StatusOr<uint32_t> again = store_->RevokeHost("h1");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, 0u);
  EXPECT_EQ(store_->RevokeHost("never").status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<std::vector<StoredCertificate>> certificates = Open()->ListCertificates();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  ASSERT_THAT(*certificates, SizeIs(3));
  EXPECT_TRUE((*certificates)[0].revoked);
  EXPECT_TRUE((*certificates)[1].revoked);
  EXPECT_FALSE((*certificates)[2].revoked);
}

// More certificates than the etcd store revokes in one Txn (100): all of
// them, counted once.
TEST_P(AccessStoreContractTest, RevokeHost_RevokesEveryCertificateOfAHostWithMany) {
  Enroll("h1", "000");
  for (int i = 1; i < 130; ++i) {
    ASSERT_TRUE(store_->AddCertificate(Certificate(absl::StrFormat("%03d", i), "h1")).ok());
  }
  absl::StatusOr<uint32_t> revoked = store_->RevokeHost("h1");
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(*revoked, 130u);
  absl::StatusOr<std::vector<StoredCertificate>> certificates = store_->ListCertificates();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  ASSERT_THAT(*certificates, SizeIs(130));
  for (const StoredCertificate& certificate : *certificates) {
    EXPECT_TRUE(certificate.revoked) << certificate.serial;
  }
}

}  // namespace
}  // namespace pyservice::controller
