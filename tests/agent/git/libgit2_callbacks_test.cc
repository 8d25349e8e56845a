#include "agent/git/libgit2_callbacks.h"

#include <git2/sys/credential.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "agent/git/libgit2_handles.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::agent::libgit2 {
namespace {

using ::pyservice::testing::TempDir;
using ::testing::HasSubstr;

// A host key in ssh wire format: string "ssh-ed25519", string of 32 bytes.
std::string FakeEd25519Key(char fill) {
  return absl::StrCat(std::string("\0\0\0\x0bssh-ed25519\0\0\0\x20", 19), std::string(32, fill));
}

git_cert_hostkey HostKeyCert(const std::string& blob) {
  git_cert_hostkey cert{};
  cert.parent.cert_type = GIT_CERT_HOSTKEY_LIBSSH2;
  cert.type = GIT_CERT_SSH_RAW;
  cert.raw_type = GIT_CERT_SSH_RAW_TYPE_KEY_ED25519;
  cert.hostkey = blob.data();
  cert.hostkey_len = blob.size();
  return cert;
}

class CallbacksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EnsureInitialized();
    state_.display_url = "ssh://git@git.example.com/org/app.git";
    state_.ssh_key_path = temp_.Join("ssh_key");
    state_.ssh_key_name = "/applications/app/config/ssh_key";
    state_.known_hosts_path = temp_.Join("known_hosts");
    state_.known_hosts_name = "git.example.com";
  }

  int Credentials(const char* username_from_url, unsigned int allowed,
                  std::string* username = nullptr) {
    git_credential* credential = nullptr;
    const int rc = AcquireCredentials(&credential, state_.display_url.c_str(),
                                      username_from_url, allowed, &state_);
    if (credential != nullptr) {
      if (username != nullptr) *username = git_credential_get_username(credential);
      git_credential_free(credential);
    }
    return rc;
  }

  int Certificate(const std::string& blob, int valid = 0) {
    git_cert_hostkey cert = HostKeyCert(blob);
    return CheckCertificate(reinterpret_cast<git_cert*>(&cert), valid, "git.example.com",
                            &state_);
  }

  TempDir temp_;
  RemoteCallbackState state_;
};

TEST_F(CallbacksTest, Credentials_UsernameComesFromTheUrlElseGit) {
  std::string username;
  EXPECT_EQ(Credentials("deploy", GIT_CREDENTIAL_USERNAME, &username), 0);
  EXPECT_EQ(username, "deploy");
  EXPECT_EQ(Credentials(nullptr, GIT_CREDENTIAL_USERNAME, &username), 0);
  EXPECT_EQ(username, "git");
  EXPECT_EQ(state_.key_attempts, 0);
}

TEST_F(CallbacksTest, Credentials_KeyIsOfferedOnceThenRefused) {
  git_credential* credential = nullptr;
  ASSERT_EQ(AcquireCredentials(&credential, "", "git", GIT_CREDENTIAL_SSH_KEY, &state_), 0);
  ASSERT_NE(credential, nullptr);
  EXPECT_EQ(credential->credtype, GIT_CREDENTIAL_SSH_KEY);
  EXPECT_STREQ(git_credential_get_username(credential), "git");
  git_credential_free(credential);
  EXPECT_TRUE(state_.refusal.ok());

  // libgit2 asks again after the server rejected the key: no second try.
  EXPECT_LT(Credentials("git", GIT_CREDENTIAL_SSH_KEY), 0);
  EXPECT_EQ(state_.refusal.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(state_.refusal.message(), HasSubstr("rejected"));
  EXPECT_THAT(state_.refusal.message(), HasSubstr(state_.ssh_key_name))
      << "the key's own path, not /proc/self/fd";
}

TEST_F(CallbacksTest, Credentials_NoKeyConfiguredIsPermissionDenied) {
  state_.ssh_key_path.clear();
  EXPECT_LT(Credentials("git", GIT_CREDENTIAL_SSH_KEY), 0);
  EXPECT_EQ(state_.refusal.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(state_.refusal.message(), HasSubstr("ssh_key"));
}

TEST_F(CallbacksTest, Credentials_PasswordsAreNotOffered) {
  EXPECT_LT(Credentials(nullptr, GIT_CREDENTIAL_USERPASS_PLAINTEXT), 0);
  EXPECT_EQ(state_.refusal.code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(CallbacksTest, Certificate_TlsIsLeftToLibgit2) {
  git_cert_x509 cert{};
  cert.parent.cert_type = GIT_CERT_X509;
  EXPECT_EQ(CheckCertificate(reinterpret_cast<git_cert*>(&cert), 0, "h", &state_),
            GIT_PASSTHROUGH);
  EXPECT_EQ(CheckCertificate(reinterpret_cast<git_cert*>(&cert), 1, "h", &state_),
            GIT_PASSTHROUGH);
}

TEST_F(CallbacksTest, Certificate_NewKeyIsRememberedAndAChangedOneRefused) {
  EXPECT_EQ(Certificate(FakeEd25519Key('a')), 0);
  EXPECT_EQ(Certificate(FakeEd25519Key('a')), 0);
  EXPECT_TRUE(state_.refusal.ok());

  EXPECT_LT(Certificate(FakeEd25519Key('b')), 0);
  EXPECT_EQ(state_.refusal.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(state_.refusal.message(), HasSubstr("changed"));
  EXPECT_THAT(state_.refusal.message(), HasSubstr(state_.known_hosts_path));
}

TEST_F(CallbacksTest, Certificate_KeyMatchedInUsersKnownHostsIsAccepted) {
  EXPECT_EQ(Certificate(FakeEd25519Key('a')), 0);
  // libgit2 says ~/.ssh/known_hosts lists this key: the operator decided.
  EXPECT_EQ(Certificate(FakeEd25519Key('b'), /*valid=*/1), 0);
}

TEST_F(CallbacksTest, Certificate_WithoutRawKeyIsRefused) {
  git_cert_hostkey cert{};
  cert.parent.cert_type = GIT_CERT_HOSTKEY_LIBSSH2;
  cert.type = GIT_CERT_SSH_SHA256;
  EXPECT_LT(CheckCertificate(reinterpret_cast<git_cert*>(&cert), 0, "h", &state_), 0);
  EXPECT_EQ(state_.refusal.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(CallbacksTest, Progress_AfterTheDeadlineAbortsTheFetch) {
  git_indexer_progress stats{};
  EXPECT_EQ(CheckProgress(&stats, &state_), 0);
  state_.deadline = absl::InfinitePast();
  EXPECT_LT(CheckProgress(&stats, &state_), 0);
  EXPECT_EQ(state_.refusal.code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace pyservice::agent::libgit2
