#include "agent/enroll/identity_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/tls/pki.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::agent {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A key and a certificate for it from a throwaway CA.
struct Pair {
  std::string key;
  std::string cert;
};

class IdentityFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = *tls::CertificateAuthority::LoadOrCreate(dir_.Join("ca"), "agents", clock_);
    files_.emplace(dir_.Join("state"));
    ASSERT_TRUE(CreateIdentityDir(*files_).ok());
  }
  Pair NewPair() {
    Pair pair{*tls::GeneratePrivateKeyPem(), ""};
    pair.cert = ca_->Issue(*tls::MakeCertificateRequestPem(pair.key, "web-1"), "web-1",
                           absl::Hours(1))
                    ->certificate_pem;
    return pair;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<tls::CertificateAuthority> ca_;
  std::optional<IdentityFiles> files_;
};

TEST_F(IdentityFilesTest, ReplacementLeavesTheNewPairAndNoStagedKey) {
  const Pair old_pair = NewPair();
  ASSERT_TRUE(ReplaceKeyAndCertificate(*files_, old_pair.key, old_pair.cert).ok());
  const Pair new_pair = NewPair();
  ASSERT_TRUE(ReplaceKeyAndCertificate(*files_, new_pair.key, new_pair.cert).ok());
  EXPECT_EQ(ReadAll(files_->key), new_pair.key);
  EXPECT_EQ(ReadAll(files_->cert), new_pair.cert);
  EXPECT_FALSE(std::filesystem::exists(files_->staged_key));
}

TEST_F(IdentityFilesTest, RecoveryFinishesAReplacementInterruptedAfterTheCertificate) {
  const Pair old_pair = NewPair();
  const Pair new_pair = NewPair();
  ASSERT_TRUE(ReplaceKeyAndCertificate(*files_, old_pair.key, old_pair.cert).ok());
  // The crash: new key staged, new certificate written, old key still there.
  std::ofstream(files_->staged_key) << new_pair.key;
  std::ofstream(files_->cert) << new_pair.cert;
  ASSERT_TRUE(RecoverInterruptedReplacement(*files_).ok());
  EXPECT_EQ(ReadAll(files_->key), new_pair.key);
  EXPECT_FALSE(std::filesystem::exists(files_->staged_key));
}

TEST_F(IdentityFilesTest, RecoveryDiscardsAKeyStagedBeforeItsCertificate) {
  const Pair old_pair = NewPair();
  ASSERT_TRUE(ReplaceKeyAndCertificate(*files_, old_pair.key, old_pair.cert).ok());
  std::ofstream(files_->staged_key) << NewPair().key;
  ASSERT_TRUE(RecoverInterruptedReplacement(*files_).ok());
  EXPECT_EQ(ReadAll(files_->key), old_pair.key);
  EXPECT_EQ(ReadAll(files_->cert), old_pair.cert);
  EXPECT_FALSE(std::filesystem::exists(files_->staged_key));
}

TEST_F(IdentityFilesTest, RecoveryWithNothingInterruptedChangesNothing) {
  EXPECT_TRUE(RecoverInterruptedReplacement(*files_).ok());
  EXPECT_FALSE(std::filesystem::exists(files_->key));
}

}  // namespace
}  // namespace pyservice::agent
