#include "controller/secrets/rotate_key.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/spec/app_spec_parser.h"
#include "common/spec/canonical.h"
#include "controller/secrets/key_file.h"
#include "controller/store/aes_gcm_spec_sealer.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::controller {
namespace {

using ::testing::HasSubstr;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

v1::AppSpec Spec(const std::string& tag) {
  return *spec::ParseAppSpec(absl::StrCat("name: web\nrepo: file:///srv/git/web.git\ntag: ", tag,
                                          "\nconfig:\n  db_password: !secret hunter2\n"),
                             "app.yaml");
}

class RotateKeyTest : public ::testing::Test {
 protected:
  std::string KeyFile() const { return dir_.Join("etc/secrets.key"); }
  std::string DataDir() const { return dir_.Join("data"); }

  SecretKeys Keys(const std::string& path) { return *LoadOrCreateSecretsKey(path, DataDir()); }

  absl::StatusOr<std::unique_ptr<SqliteStore>> OpenWith(const SpecSealer& sealer) {
    return SqliteStore::Open(DataDir(), clock_, sealer);
  }

  // Revisions 1 and 2 of "web", as a controller with `keys` stores them.
  void StoreTwoRevisions(const SecretKeys& keys) {
    const AesGcmSpecSealer sealer(keys, KeyFile());
    std::unique_ptr<SqliteStore> store = *OpenWith(sealer);
    const spec::SecretFingerprinter fingerprints(keys.fingerprint);
    for (uint32_t n = 1; n <= 2; ++n) {
      StoredRevision revision;
      revision.app = "web";
      revision.tag = absl::StrCat("v", n);
      revision.digest = spec::SpecDigest(Spec(revision.tag), fingerprints);
      revision.spec = Spec(revision.tag).SerializeAsString();
      ASSERT_TRUE(store->AppendRevision(revision, n - 1).ok());
    }
  }

  // What a controller started now with the key file finds.
  void ExpectStoreOpensWithTheKeyFileOnly(const SecretKeys& old_keys) {
    const SecretKeys keys = Keys(KeyFile());
    const AesGcmSpecSealer sealer(keys, KeyFile());
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = OpenWith(sealer);
    ASSERT_TRUE(store.ok()) << store.status();
    const spec::SecretFingerprinter fingerprints(keys.fingerprint);
    for (uint32_t n = 1; n <= 2; ++n) {
      absl::StatusOr<StoredRevision> revision = (*store)->GetRevision("web", n);
      ASSERT_TRUE(revision.ok()) << revision.status();
      EXPECT_EQ(revision->spec, Spec(absl::StrCat("v", n)).SerializeAsString());
      EXPECT_EQ(revision->digest, spec::SpecDigest(Spec(absl::StrCat("v", n)), fingerprints))
          << "keyed again with the new key";
    }
    store->reset();
    const AesGcmSpecSealer old_sealer(old_keys, "old.key");
    EXPECT_EQ(OpenWith(old_sealer).status().code(), absl::StatusCode::kFailedPrecondition)
        << "the old key opens nothing any more";
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
};

TEST_F(RotateKeyTest, SealsEverythingWithANewKeyAndKeepsTheOldOne) {
  const SecretKeys old_keys = Keys(KeyFile());
  const std::string old_content = Slurp(KeyFile());
  ASSERT_NO_FATAL_FAILURE(StoreTwoRevisions(old_keys));
  absl::StatusOr<KeyRotation> rotation = RotateSecretsKey(KeyFile(), DataDir(), clock_);
  ASSERT_TRUE(rotation.ok()) << rotation.status();
  EXPECT_EQ(rotation->specs, 2u);
  EXPECT_EQ(rotation->previous_key_file, KeyFile() + ".previous");
  EXPECT_EQ(Slurp(KeyFile() + ".previous"), old_content);
  EXPECT_NE(Slurp(KeyFile()), old_content);
  EXPECT_FALSE(std::filesystem::exists(KeyFile() + ".next"));
  EXPECT_EQ(InterruptedRotationHint(KeyFile()), "");
  ASSERT_NO_FATAL_FAILURE(ExpectStoreOpensWithTheKeyFileOnly(old_keys));
}

TEST_F(RotateKeyTest, AnInterruptedRotationIsNamedAtStartAndFinishedByARerun) {
  const SecretKeys old_keys = Keys(KeyFile());
  ASSERT_NO_FATAL_FAILURE(StoreTwoRevisions(old_keys));
  // Interrupted after the store was sealed with the new key, before the
  // key files were swapped.
  {
    const SecretKeys next = Keys(KeyFile() + ".next");
    const AesGcmSpecSealer both(next, KeyFile() + ".next", old_keys);
    std::unique_ptr<SqliteStore> store = *OpenWith(both);
    ASSERT_TRUE(store->ResealAll({}).ok());
  }
  const AesGcmSpecSealer old_sealer(old_keys, KeyFile());
  absl::StatusOr<std::unique_ptr<SqliteStore>> refused = OpenWith(old_sealer);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(InterruptedRotationHint(KeyFile()),
              HasSubstr("run `pyservice-controller rotate-secrets-key` again"));
  ASSERT_TRUE(RotateSecretsKey(KeyFile(), DataDir(), clock_).ok());
  ASSERT_NO_FATAL_FAILURE(ExpectStoreOpensWithTheKeyFileOnly(old_keys));
}

TEST_F(RotateKeyTest, WithoutAKeyFileThereIsNothingToRotate) {
  absl::StatusOr<KeyRotation> rotation = RotateSecretsKey(KeyFile(), DataDir(), clock_);
  ASSERT_FALSE(rotation.ok());
  EXPECT_THAT(rotation.status().message(), HasSubstr("no secrets key file"));
  EXPECT_FALSE(std::filesystem::exists(KeyFile())) << "and none is created";
}

}  // namespace
}  // namespace pyservice::controller
