#include "controller/secrets/key_file.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class KeyFileTest : public ::testing::Test {
 protected:
  std::string KeyPath() const { return dir_.Join("etc/pyservice-controller/secrets.key"); }
  std::string DataDir() const { return dir_.Join("data"); }

  // A key file at `path` with `content` and `mode`.
  static void Write(const std::string& path, const std::string& content, mode_t mode) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << content;
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
  }

  testing::TempDir dir_;
};

TEST_F(KeyFileTest, MissingKey_IsCreatedMode0600InA0700Directory) {
  absl::StatusOr<SecretKeys> keys = LoadOrCreateSecretsKey(KeyPath(), DataDir());
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(ModeOf(KeyPath()), 0600u);
  EXPECT_EQ(ModeOf(dir_.Join("etc/pyservice-controller")), 0700u);
  EXPECT_EQ(ModeOf(dir_.Join("etc")), 0700u);
  EXPECT_EQ(Slurp(KeyPath()).size(), kSecretsKeyBytes);
  // No temporary file is left next to it.
  EXPECT_EQ(
      std::distance(std::filesystem::directory_iterator(dir_.Join("etc/pyservice-controller")),
                    std::filesystem::directory_iterator()),
      1);
}

TEST_F(KeyFileTest, ExistingKey_IsReadNotReplaced_SameKeysEveryTime) {
  absl::StatusOr<SecretKeys> first = LoadOrCreateSecretsKey(KeyPath(), DataDir());
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string content = Slurp(KeyPath());
  absl::StatusOr<SecretKeys> second = LoadOrCreateSecretsKey(KeyPath(), DataDir());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(Slurp(KeyPath()), content);
  EXPECT_EQ(first->encryption, second->encryption);
  EXPECT_EQ(first->fingerprint, second->fingerprint);
  EXPECT_EQ(first->key_id, second->key_id);
}

TEST_F(KeyFileTest, TwoCreatedKeys_Differ) {
  absl::StatusOr<SecretKeys> one = LoadOrCreateSecretsKey(dir_.Join("a/secrets.key"), DataDir());
  absl::StatusOr<SecretKeys> two = LoadOrCreateSecretsKey(dir_.Join("b/secrets.key"), DataDir());
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_NE(one->encryption, two->encryption);
}

TEST_F(KeyFileTest, ExistingParentDirectory_KeepsItsMode) {
  std::filesystem::create_directories(dir_.Join("shared"));
  ASSERT_EQ(chmod(dir_.Join("shared").c_str(), 0755), 0);
  ASSERT_TRUE(LoadOrCreateSecretsKey(dir_.Join("shared/secrets.key"), DataDir()).ok());
  EXPECT_EQ(ModeOf(dir_.Join("shared")), 0755u);
  EXPECT_EQ(ModeOf(dir_.Join("shared/secrets.key")), 0600u);
}

TEST_F(KeyFileTest, KeyReadableByGroupOrOthers_IsRefusedNamingPathAndMode) {
  for (const mode_t mode : {0640, 0604, 0644}) {
    Write(KeyPath(), std::string(kSecretsKeyBytes, 'k'), mode);
    absl::StatusOr<SecretKeys> keys = LoadOrCreateSecretsKey(KeyPath(), DataDir());
    ASSERT_FALSE(keys.ok()) << mode;
    EXPECT_EQ(keys.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(keys.status().message(), HasSubstr(KeyPath()));
    EXPECT_THAT(keys.status().message(), HasSubstr("readable by group or others"));
    EXPECT_THAT(keys.status().message(), HasSubstr(absl::StrCat("chmod 600 ", KeyPath())));
    EXPECT_THAT(keys.status().message(), Not(HasSubstr("kkkk")));
  }
  Write(KeyPath(), std::string(kSecretsKeyBytes, 'k'), 0400);
  EXPECT_TRUE(LoadOrCreateSecretsKey(KeyPath(), DataDir()).ok()) << "0400 is fine";
}

TEST_F(KeyFileTest, KeyOfTheWrongSize_IsRefusedAndKept) {
  Write(KeyPath(), "too short", 0600);
  absl::StatusOr<SecretKeys> keys = LoadOrCreateSecretsKey(KeyPath(), DataDir());
  ASSERT_FALSE(keys.ok());
  EXPECT_THAT(keys.status().message(), HasSubstr(absl::StrCat(KeyPath(), " has 9 bytes, not 32")));
  EXPECT_EQ(Slurp(KeyPath()), "too short") << "never replaced: that would lose every spec";
}

TEST_F(KeyFileTest, KeyPathThatIsADirectory_IsRefused) {
  std::filesystem::create_directories(KeyPath());
  absl::StatusOr<SecretKeys> keys = LoadOrCreateSecretsKey(KeyPath(), DataDir());
  ASSERT_FALSE(keys.ok());
  EXPECT_THAT(keys.status().message(), HasSubstr(KeyPath()));
}

TEST_F(KeyFileTest, KeyInsideTheDataDir_IsRefusedAndNotCreated) {
  for (const std::string& path :
       {DataDir() + "/secrets.key", DataDir() + "/keys/secrets.key", DataDir() + "/../data/k"}) {
    absl::StatusOr<SecretKeys> keys = LoadOrCreateSecretsKey(path, DataDir() + "/");
    ASSERT_FALSE(keys.ok()) << path;
    EXPECT_EQ(keys.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(keys.status().message(), HasSubstr("is inside the data dir"));
  }
  EXPECT_FALSE(std::filesystem::exists(DataDir()));
  // A sibling whose name starts like the data dir is outside it.
  EXPECT_TRUE(LoadOrCreateSecretsKey(dir_.Join("data-keys/secrets.key"), DataDir()).ok());
}

TEST_F(KeyFileTest, KeyInsideTheDataDirThroughASymlink_IsRefused) {
  std::filesystem::create_directories(DataDir());
  std::filesystem::create_directory_symlink(DataDir(), dir_.Join("link"));
  absl::StatusOr<SecretKeys> keys =
      LoadOrCreateSecretsKey(dir_.Join("link/secrets.key"), DataDir());
  ASSERT_FALSE(keys.ok());
  EXPECT_THAT(keys.status().message(), HasSubstr("is inside the data dir"));
}

TEST(SecretKeysTest, SubkeysAreDistinctDeterministicAndNotTheMaster) {
  const std::string master(kSecretsKeyBytes, '\x42');
  absl::StatusOr<SecretKeys> keys = DeriveSecretKeys(master);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->encryption.size(), kSecretsKeyBytes);
  EXPECT_EQ(keys->fingerprint.size(), kSecretsKeyBytes);
  EXPECT_EQ(keys->key_id.size(), kSecretsKeyIdBytes);
  EXPECT_NE(keys->encryption, keys->fingerprint);
  EXPECT_NE(keys->encryption, master);
  EXPECT_NE(keys->fingerprint, master);
  EXPECT_EQ(DeriveSecretKeys(master)->fingerprint, keys->fingerprint);
  EXPECT_FALSE(DeriveSecretKeys("short").ok());
}

}  // namespace
}  // namespace pyservice::controller
