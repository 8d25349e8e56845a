#include "common/text/url_credentials.h"

#include "gtest/gtest.h"

namespace pyservice::text {
namespace {

TEST(RedactUrlCredentialsTest, HttpsUserAndToken_BothHidden) {
  EXPECT_EQ(RedactUrlCredentials("https://user:token@git.example/x.git"),
            "https://***@git.example/x.git");
}

TEST(RedactUrlCredentialsTest, HttpsTokenAsUser_Hidden) {
  EXPECT_EQ(RedactUrlCredentials("https://ghp_abc123@git.example/x.git"),
            "https://***@git.example/x.git");
}

TEST(RedactUrlCredentialsTest, PasswordWithAt_HiddenUpToTheLastAtOfTheAuthority) {
  EXPECT_EQ(RedactUrlCredentials("https://u:p@ss@git.example:8443/x.git"),
            "https://***@git.example:8443/x.git");
}

TEST(RedactUrlCredentialsTest, AtInThePath_IsNotACredential) {
  EXPECT_EQ(RedactUrlCredentials("https://git.example/org/x@v1.git"),
            "https://git.example/org/x@v1.git");
  EXPECT_EQ(UrlCredentials("https://git.example/x?ref=a@b"), "");
}

TEST(RedactUrlCredentialsTest, SshUserStays_PasswordGoes) {
  EXPECT_EQ(RedactUrlCredentials("ssh://git@git.example/x.git"), "ssh://git@git.example/x.git");
  EXPECT_EQ(RedactUrlCredentials("ssh://git:hunter2@git.example/x.git"),
            "ssh://git:***@git.example/x.git");
}

TEST(RedactUrlCredentialsTest, ScpLikeAndFileUrls_Unchanged) {
  EXPECT_EQ(RedactUrlCredentials("git@git.example:org/x.git"), "git@git.example:org/x.git");
  EXPECT_EQ(RedactUrlCredentials("file:///srv/git/x.git"), "file:///srv/git/x.git");
  EXPECT_EQ(RedactUrlCredentials(""), "");
}

TEST(RedactUrlCredentialsTest, UrlCredentials_IsTheSecretPart) {
  EXPECT_EQ(UrlCredentials("https://user:token@git.example/x.git"), "user:token");
  EXPECT_EQ(UrlCredentials("ssh://git:pw@h/x.git"), "pw");
  EXPECT_EQ(UrlCredentials("https://git.example/x.git"), "");
}

TEST(RedactUrlCredentialsInTest, EveryOccurrenceInAMessageIsHidden) {
  const std::string url = "https://deploy:t0ps3cret@git.example/x.git";
  EXPECT_EQ(RedactUrlCredentialsIn(
                "cannot fetch https://deploy:t0ps3cret@git.example/x.git (deploy:t0ps3cret)", url),
            "cannot fetch https://***@git.example/x.git (***)");
  EXPECT_EQ(RedactUrlCredentialsIn("unchanged", "https://git.example/x.git"), "unchanged");
}

}  // namespace
}  // namespace pyservice::text
