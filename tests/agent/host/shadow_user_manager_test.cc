// The exact shadow commands the role's user handling becomes. Lookups are
// real (getpwnam_r/getgrnam_r): root and its group exist everywhere.
#include "agent/host/shadow_user_manager.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_process_runner.h"

namespace pyservice::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(ShadowUserManager, CreatesAMissingGroupAsASystemGroup) {
  testing::FakeProcessRunner runner;
  ShadowUserManager users(runner);
  ASSERT_TRUE(users.EnsureGroup("pyservice-test-nogroup").ok());
  EXPECT_THAT(runner.commands(), ElementsAre("groupadd --system pyservice-test-nogroup"));
}

TEST(ShadowUserManager, CreatesAMissingUserWithExplicitGroupAndNoHome) {
  testing::FakeProcessRunner runner;
  ShadowUserManager users(runner);
  ASSERT_TRUE(users.EnsureUser("pyservice-test-nouser", "hello", "/applications/hello",
                               "User for hello service")
                  .ok());
  EXPECT_THAT(runner.commands(),
              ElementsAre("useradd --system --gid hello --home-dir /applications/hello "
                          "--no-create-home --shell /usr/sbin/nologin --comment User for hello "
                          "service pyservice-test-nouser"));
  // The comment is one argv element, not split on spaces.
  EXPECT_EQ(runner.runs()[0].argv[10], "User for hello service");
}

TEST(ShadowUserManager, LeavesExistingAccountsAlone) {
  testing::FakeProcessRunner runner;
  ShadowUserManager users(runner);
  ASSERT_TRUE(users.EnsureGroup("root").ok());
  ASSERT_TRUE(users.EnsureUser("root", "root", "/root", "x").ok());
  EXPECT_THAT(runner.commands(), IsEmpty());
  EXPECT_EQ(*users.LookupUser("root"), 0u);
  EXPECT_EQ(*users.LookupGroup("root"), 0u);
}

TEST(ShadowUserManager, MissingAccountsAreNotFound) {
  testing::FakeProcessRunner runner;
  ShadowUserManager users(runner);
  EXPECT_EQ(users.LookupUser("pyservice-test-nouser").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(users.LookupGroup("pyservice-test-nogroup").status().code(), absl::StatusCode::kNotFound);
}

TEST(ShadowUserManager, ToolFailureCarriesItsMessage) {
  testing::FakeProcessRunner runner;
  runner.FailWhenArgumentIs("pyservice-test-nogroup");
  ShadowUserManager users(runner);
  absl::Status status = users.EnsureGroup("pyservice-test-nogroup");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("groupadd --system pyservice-test-nogroup: exit status 1"));
}

}  // namespace
}  // namespace pyservice::agent
