#include "controller/fleet/repo_credentials.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::controller::fleet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

DesiredRevision Revision(const std::string& repo) {
  auto spec = std::make_shared<v1::AppSpec>();
  spec->set_name("web");
  spec->set_repo(repo);
  DesiredRevision revision;
  revision.spec = std::move(spec);
  return revision;
}

DesiredSet Desired(const std::string& repo, const std::string& from_repo = "") {
  DesiredApp app;
  static_cast<DesiredRevision&>(app) = Revision(repo);
  app.name = "web";
  if (!from_repo.empty()) app.from = Revision(from_repo);
  return {{"web", app}};
}

// What an agent from before repo credentials were redacted reported.
v1::AgentMessage FailedResult(const std::string& error) {
  v1::AgentMessage message;
  message.mutable_result()->set_app("web");
  message.mutable_result()->set_error(error);
  message.mutable_result()->mutable_live()->set_message(error);
  return message;
}

TEST(RepoCredentialsTest, AnOldAgentsErrorLosesTheToken) {
  const std::string repo = "https://ghp_T0KEN@git.example/x.git";
  std::optional<v1::AgentMessage> scrubbed =
      RedactRepoCredentials(Desired(repo), FailedResult("checkout: repo " + repo + " ref v1: 401"));
  ASSERT_TRUE(scrubbed.has_value());
  EXPECT_EQ(scrubbed->result().error(), "checkout: repo https://***@git.example/x.git ref v1: 401");
  EXPECT_THAT(scrubbed->result().live().message(), Not(HasSubstr("T0KEN")));
}

TEST(RepoCredentialsTest, TheRolloutsPreviousRepoToo_AndEveryKindOfText) {
  const DesiredSet desired =
      Desired("https://u:new@git.example/x.git", "https://u:0ld-t0ken@git.example/x.git");
  v1::AgentMessage progress;
  progress.mutable_progress()->set_app("web");
  progress.mutable_progress()->set_message("fetching with u:0ld-t0ken");
  EXPECT_EQ(RedactRepoCredentials(desired, progress)->progress().message(), "fetching with ***");
  v1::AgentMessage health;
  health.mutable_health()->set_app("web");
  health.mutable_health()->set_message("u:new");
  const std::optional<v1::AgentMessage> scrubbed = RedactRepoCredentials(desired, health);
  EXPECT_EQ(scrubbed->health().message(), "***");
  EXPECT_TRUE(scrubbed->has_health()) << "still the same kind of message";
}

TEST(RepoCredentialsTest, NothingToRedact_NothingCopied) {
  EXPECT_FALSE(RedactRepoCredentials(Desired("https://git.example/x.git"), FailedResult("x")));
  EXPECT_FALSE(RedactRepoCredentials(Desired("https://t@git.example/x.git"), v1::AgentMessage()));
  v1::AgentMessage other = FailedResult("x");
  other.mutable_result()->set_app("api");
  EXPECT_FALSE(RedactRepoCredentials(Desired("https://t@git.example/x.git"), other));
}

}  // namespace
}  // namespace pyservice::controller::fleet
