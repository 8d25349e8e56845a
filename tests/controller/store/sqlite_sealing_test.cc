// Specs at rest in the SQLite store (sqlite_sealing.h): what is on disk is
// read back byte by byte, as a thief of the data dir would read it.
#include "controller/store/sqlite_sealing.h"

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/store/aes_gcm_spec_sealer.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_secret_keys.h"

namespace pyservice::controller {
namespace {

using ::testing::HasSubstr;

// A spec's bytes with secrets in them, one of them long enough to need
// SQLite overflow pages (whose freed copies must not keep it either).
const std::string kSshKey = "-----BEGIN OPENSSH PRIVATE KEY-----S3CR3TKEYMATERIAL";
const std::string kFileContent = "T0PS3CRET" + std::string(9000, 'x') + "END0FSECRET";

std::string SpecBytes(int n) { return absl::StrCat("spec ", n, " ", kSshKey, " ", kFileContent); }

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class SqliteSealingTest : public ::testing::Test {
 protected:
  std::string DataDir() const { return dir_.Join("data"); }
  std::string DbPath() const { return DataDir() + "/" + SqliteStore::kDatabaseFileName; }

  std::unique_ptr<SqliteStore> Open(const SpecSealer& sealer,
                                    const LegacyRevisionUpgrade& upgrade = {}) {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store =
        SqliteStore::Open(DataDir(), clock_, sealer, upgrade);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  // Revisions 1..count of "web", appended through a store.
  void StoreRevisions(int count) {
    std::unique_ptr<SqliteStore> store = Open(sealer_);
    ASSERT_NE(store, nullptr);
    for (int n = 1; n <= count; ++n) {
      StoredRevision revision;
      revision.app = "web";
      revision.tag = absl::StrCat("v", n);
      revision.digest = absl::StrCat("sha256:unkeyed-", n);
      revision.spec = SpecBytes(n);
      ASSERT_TRUE(store->AppendRevision(revision, n - 1).ok());
    }
  }

  // Runs `sql` on the file with `blob` bound to ?1, through a connection of
  // its own (as an older controller, or an attacker, would write).
  void ExecOnFile(const std::string& sql, const std::string& blob = "") {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(DbPath().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    if (sqlite3_bind_parameter_count(stmt) > 0) {
      sqlite3_bind_blob(stmt, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    }
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE) << sqlite3_errmsg(db);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }

  // The store as a controller from before sealing left it: specs in
  // plaintext, schema version 3.
  void MakeItLegacy(int count) {
    for (int n = 1; n <= count; ++n) {
      ExecOnFile(absl::StrCat("UPDATE revisions SET spec = ?1 WHERE number = ", n), SpecBytes(n));
    }
    // Version 3 had neither the access tables of migration 4 nor sealing.
    for (const char* table : {"certificates", "enrolled_hosts", "enrollment_tokens", "tokens"}) {
      ExecOnFile(absl::StrCat("DROP TABLE ", table));
    }
    ExecOnFile("PRAGMA user_version = 3");
  }

  // Every byte the data dir holds (database, WAL, shared memory).
  std::string DataDirBytes() const {
    std::string all;
    for (const auto& entry : std::filesystem::directory_iterator(DataDir())) {
      all += Slurp(entry.path().string());
    }
    return all;
  }

  void ExpectNoSecretOnDisk() const {
    const std::string bytes = DataDirBytes();
    EXPECT_EQ(bytes.find("S3CR3TKEYMATERIAL"), std::string::npos);
    EXPECT_EQ(bytes.find("T0PS3CRET"), std::string::npos);
    EXPECT_EQ(bytes.find("END0FSECRET"), std::string::npos);
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  const SecretKeys keys_ = testing::TestSecretKeys('a');
  const AesGcmSpecSealer sealer_{keys_, "/etc/p/secrets.key"};
};

TEST_F(SqliteSealingTest, TheDataDirHoldsNoSecretByte_TheStoreReadsThemBack) {
  ASSERT_NO_FATAL_FAILURE(StoreRevisions(2));
  std::unique_ptr<SqliteStore> store = Open(sealer_);
  ASSERT_NE(store, nullptr);
  // While it runs (the WAL holds the latest writes) and after.
  ExpectNoSecretOnDisk();
  EXPECT_EQ(store->GetRevision("web", 1)->spec, SpecBytes(1));
  EXPECT_EQ((*store->CurrentRevision("web"))->spec, SpecBytes(2));
  EXPECT_EQ((*store->ListApps())[0].latest.spec, SpecBytes(2));
  store.reset();
  ExpectNoSecretOnDisk();
}

TEST_F(SqliteSealingTest, WithoutSealingTheSecretsWouldBeThere) {
  // The check above can see a secret: a plaintext row is found.
  ASSERT_NO_FATAL_FAILURE(StoreRevisions(1));
  ASSERT_NO_FATAL_FAILURE(MakeItLegacy(1));
  EXPECT_NE(DataDirBytes().find("S3CR3TKEYMATERIAL"), std::string::npos);
}

TEST_F(SqliteSealingTest, PlaintextRowsOfAnOlderController_AreSealedAtOpenAndUpgraded) {
  ASSERT_NO_FATAL_FAILURE(StoreRevisions(3));
  ASSERT_NO_FATAL_FAILURE(MakeItLegacy(3));
  std::vector<uint32_t> upgraded;
  const LegacyRevisionUpgrade upgrade = [&](StoredRevision& revision) {
    EXPECT_EQ(revision.spec, SpecBytes(revision.number)) << "given the plaintext";
    upgraded.push_back(revision.number);
    revision.digest = absl::StrCat("sha256:keyed-", revision.number);
    return absl::OkStatus();
  };
  std::unique_ptr<SqliteStore> store = Open(sealer_, upgrade);
  ASSERT_NE(store, nullptr);
  EXPECT_THAT(upgraded, ::testing::UnorderedElementsAre(1, 2, 3));
  for (uint32_t n = 1; n <= 3; ++n) {
    absl::StatusOr<StoredRevision> revision = store->GetRevision("web", n);
    ASSERT_TRUE(revision.ok()) << revision.status();
    EXPECT_EQ(revision->spec, SpecBytes(n));
    EXPECT_EQ(revision->digest, absl::StrCat("sha256:keyed-", n));
  }
  ExpectNoSecretOnDisk();
  store.reset();
  ExpectNoSecretOnDisk();
  // Once: a second open finds nothing to seal.
  upgraded.clear();
  ASSERT_NE(Open(sealer_, upgrade), nullptr);
  EXPECT_TRUE(upgraded.empty());
}

TEST_F(SqliteSealingTest, AFailedUpgradeSealsNothing) {
  ASSERT_NO_FATAL_FAILURE(StoreRevisions(2));
  ASSERT_NO_FATAL_FAILURE(MakeItLegacy(2));
  const LegacyRevisionUpgrade upgrade = [](StoredRevision& revision) {
    return revision.number == 2 ? absl::DataLossError("does not decode") : absl::OkStatus();
  };
  absl::StatusOr<std::unique_ptr<SqliteStore>> store =
      SqliteStore::Open(DataDir(), clock_, sealer_, upgrade);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr("upgrading web revision 2: does not decode"));
  // Still both in plaintext: the next start tries again from the start.
  ASSERT_NE(Open(sealer_), nullptr);
}

TEST_F(SqliteSealingTest, AnotherKeyFile_StopsTheOpenNamingTheRevisionAndTheKeyFile) {
  ASSERT_NO_FATAL_FAILURE(StoreRevisions(2));
  const AesGcmSpecSealer wrong(testing::TestSecretKeys('z'), "/etc/p/wrong.key");
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(DataDir(), clock_, wrong);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("stored spec of web revision 2"));
  EXPECT_THAT(store.status().message(), HasSubstr("/etc/p/wrong.key"));
  EXPECT_THAT(store.status().message(), HasSubstr("the key file does not match this data dir"));
}

TEST_F(SqliteSealingTest, ABlobCopiedIntoAnotherRow_IsAnErrorNotTheOtherRowsSpec) {
  ASSERT_NO_FATAL_FAILURE(StoreRevisions(2));
  ExecOnFile(
      "UPDATE revisions SET spec = (SELECT spec FROM revisions WHERE number = 1) "
      "WHERE number = 2");
  // The check at open reads the newest row: it is the copied one.
  absl::StatusOr<std::unique_ptr<SqliteStore>> opened =
      SqliteStore::Open(DataDir(), clock_, sealer_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(opened.status().message(), HasSubstr("web revision 2"));
}

TEST_F(SqliteSealingTest, ADamagedOlderRow_FailsItsReadsOnly) {
  ASSERT_NO_FATAL_FAILURE(StoreRevisions(2));
  ExecOnFile(
      "UPDATE revisions SET spec = (SELECT spec FROM revisions WHERE number = 2) "
      "WHERE number = 1");
  std::unique_ptr<SqliteStore> store = Open(sealer_);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<StoredRevision> revision = store->GetRevision("web", 1);
  ASSERT_FALSE(revision.ok());
  EXPECT_EQ(revision.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(revision.status().message(), HasSubstr("stored spec of web revision 1"));
  EXPECT_EQ(store->GetRevision("web", 2)->spec, SpecBytes(2));
}

}  // namespace
}  // namespace pyservice::controller
