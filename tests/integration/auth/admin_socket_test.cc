// The admin socket and the real pyctl binary: the socket is created 0600
// (0660 with a group), root there is an admin without a token, any other
// user who may open it must bring one; and pyctl's auth and host commands
// as operators use them (tokens printed once, file modes enforced, clear
// refusals).
#include <grp.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/process/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/auth/auth_fixture.h"

namespace pyservice::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

// The unprivileged user and group Debian always has.
constexpr uid_t kNobody = 65534;
constexpr char kNoGroup[] = "nogroup";

class AdminSocketTest : public AuthFixture {
 protected:
  ProcessResult Pyctl(const std::vector<std::string>& args,
                      std::optional<ProcessOptions::Identity> run_as = std::nullopt,
                      const std::vector<std::string>& env = {}) {
    ProcessOptions options;
    options.argv = {PYCTL_BIN, "--controller", "unix:" + admin_socket_};
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.env = std::vector<std::string>{"PATH=/usr/bin:/bin"};
    options.env->insert(options.env->end(), env.begin(), env.end());
    options.run_as = run_as;
    absl::StatusOr<ProcessResult> result = RunProcess(options);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *std::move(result) : ProcessResult{};
  }

  static mode_t Mode(const std::string& path) {
    struct stat info {};
    EXPECT_EQ(lstat(path.c_str(), &info), 0) << path;
    return info.st_mode;
  }
};

class GroupAdminSocketTest : public AdminSocketTest {
 protected:
  void SetUp() override {
    // The group's members must reach the socket in the test's dir (0700
    // from mkdtemp): traverse only.
    ASSERT_EQ(chmod(dir_.path().c_str(), 0711), 0);
    AdminSocketTest::SetUp();
  }
  std::string AdminSocketGroup() const override { return kNoGroup; }
};

TEST_F(AdminSocketTest, IsPrivateToRootAndRootIsAnAdminThereWithoutAToken) {
  EXPECT_TRUE(S_ISSOCK(Mode(admin_socket_)));
  EXPECT_EQ(Mode(admin_socket_) & 07777, 0600u);
  const ProcessResult whoami = Pyctl({"auth", "whoami", "-o", "json"});
  ASSERT_TRUE(whoami.Succeeded()) << whoami.stderr_text;
  EXPECT_THAT(whoami.stdout_text, HasSubstr("\"name\": \"unix-uid:0\""));
  EXPECT_THAT(whoami.stdout_text, HasSubstr("\"role\": \"admin\""));

  // Another user cannot even open it: its mode refuses (the dir lets any
  // user through, so this is the socket's own 0600 at work).
  ASSERT_EQ(chmod(dir_.path().c_str(), 0711), 0);
  const ProcessResult nobody = Pyctl({"auth", "whoami"}, ProcessOptions::Identity{kNobody, kNobody});
  EXPECT_FALSE(nobody.Succeeded());
  EXPECT_THAT(nobody.stderr_text, HasSubstr("Permission denied"));
}

TEST_F(GroupAdminSocketTest, GroupMembersMayOpenItButNeedATokenLikeAnywhereElse) {
  struct group* nogroup = getgrnam(kNoGroup);
  ASSERT_NE(nogroup, nullptr);
  struct stat info {};
  ASSERT_EQ(lstat(admin_socket_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0660u);
  EXPECT_EQ(info.st_gid, nogroup->gr_gid);

  const ProcessOptions::Identity member{kNobody, nogroup->gr_gid};
  const ProcessResult anonymous = Pyctl({"get", "apps"}, member);
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_THAT(anonymous.stderr_text, HasSubstr("not authenticated"));

  const Caller viewer = Operator("nobodys-viewer", v1::ROLE_VIEWER);
  const ProcessResult with_token =
      Pyctl({"auth", "whoami"}, member, {"PYCTL_TOKEN=" + viewer.token});
  ASSERT_TRUE(with_token.Succeeded()) << with_token.stderr_text;
  EXPECT_THAT(with_token.stdout_text, HasSubstr("token:nobodys-viewer (viewer)"));
}

TEST_F(AdminSocketTest, PyctlCreatesUsesListsAndRevokesTokensAndNeverShowsASecretTwice) {
  const ProcessResult created =
      Pyctl({"auth", "create-token", "ci", "--role", "deployer", "--app", "hello", "--ttl", "30d"});
  ASSERT_TRUE(created.Succeeded()) << created.stderr_text;
  const std::string token(absl::StripAsciiWhitespace(created.stdout_text));
  EXPECT_THAT(token, MatchesRegex("pst_[0-9]+_[A-Za-z0-9_-]{43}"));
  EXPECT_THAT(created.stderr_text, HasSubstr("shown only now"));

  // The file must be the owner's alone, like an ssh key.
  const std::string token_file = dir_.Join("ci.token");
  WritePrivateFile(token_file, token + "\n");
  chmod(token_file.c_str(), 0644);
  const ProcessResult open_file = Pyctl({"--token-file", token_file, "auth", "whoami"});
  EXPECT_EQ(open_file.exit_code, 1);
  EXPECT_THAT(open_file.stderr_text, HasSubstr("token file " + token_file + " can be read or changed by group or others (mode 0644)"));
  EXPECT_THAT(open_file.stderr_text, Not(HasSubstr(token)));
  chmod(token_file.c_str(), 0600);
  // Over TCP (no admin socket), with the token file.
  ProcessOptions options;
  options.argv = {PYCTL_BIN, "--controller", address_, "--tls-ca", pki_.ca_crt(), "--token-file",
                  token_file, "auth", "whoami"};
  options.env = std::vector<std::string>{"PATH=/usr/bin:/bin"};
  absl::StatusOr<ProcessResult> whoami = RunProcess(options);
  ASSERT_TRUE(whoami.ok()) << whoami.status();
  ASSERT_TRUE(whoami->Succeeded()) << whoami->stderr_text;
  EXPECT_THAT(whoami->stdout_text, HasSubstr("token:ci (deployer, apps hello) by bearer token"));

  const ProcessResult listed = Pyctl({"auth", "list", "-o", "json"});
  ASSERT_TRUE(listed.Succeeded()) << listed.stderr_text;
  EXPECT_THAT(listed.stdout_text, HasSubstr("\"name\": \"ci\""));
  // The secret is all after "pst_<id>_"; base64url secrets may hold '_' themselves.
  const std::string secret = token.substr(token.find('_', token.find('_') + 1) + 1);
  ASSERT_EQ(secret.size(), 43u);
  EXPECT_THAT(listed.stdout_text, Not(HasSubstr(secret)));
  EXPECT_THAT(listed.stdout_text, Not(HasSubstr("secret")));

  ASSERT_TRUE(Pyctl({"auth", "revoke", "ci"}).Succeeded());
  absl::StatusOr<ProcessResult> revoked = RunProcess(options);
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked->exit_code, 1);
  EXPECT_THAT(revoked->stderr_text, HasSubstr("token \"ci\" was revoked"));

  // Bad input: a clear error, nothing created.
  const ProcessResult bad_role = Pyctl({"auth", "create-token", "x", "--role", "root"});
  EXPECT_EQ(bad_role.exit_code, 1);
  EXPECT_THAT(bad_role.stderr_text, HasSubstr("--role: \"root\" is not admin, deployer or viewer"));
  const ProcessResult scoped_admin =
      Pyctl({"auth", "create-token", "y", "--role", "admin", "--app", "hello"});
  EXPECT_EQ(scoped_admin.exit_code, 1);
  EXPECT_THAT(scoped_admin.stderr_text, HasSubstr("admin token cannot be limited"));
  const ProcessResult taken = Pyctl({"auth", "create-token", "ci", "--role", "viewer"});
  EXPECT_EQ(taken.exit_code, 1);
  EXPECT_THAT(taken.stderr_text, HasSubstr("names are never reused"));
}

TEST_F(AdminSocketTest, PyctlHostEnrollTokenPrintsASingleUseTokenAndRevokeNamesTheHost) {
  const ProcessResult created =
      Pyctl({"host", "enroll-token", "web-1", "--label", "role=web", "--ttl", "10m"});
  ASSERT_TRUE(created.Succeeded()) << created.stderr_text;
  EXPECT_THAT(created.stdout_text, MatchesRegex("pse_[0-9]+_[A-Za-z0-9_-]{43}\n"));
  EXPECT_THAT(created.stderr_text, HasSubstr("single use"));

  const ProcessResult bad_label = Pyctl({"host", "enroll-token", "web-2", "--label", "role"});
  EXPECT_EQ(bad_label.exit_code, 1);
  EXPECT_THAT(bad_label.stderr_text, HasSubstr("--label: \"role\" is not KEY=VALUE"));
  const ProcessResult bad_name = Pyctl({"host", "enroll-token", "Web_2"});
  EXPECT_EQ(bad_name.exit_code, 1);
  EXPECT_THAT(bad_name.stderr_text, HasSubstr("host name \"Web_2\""));

  const ProcessResult unknown = Pyctl({"host", "revoke", "db-9"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.stderr_text, HasSubstr("host \"db-9\" never enrolled"));
  EnrollAgent("web-3", {});
  const ProcessResult revoked = Pyctl({"host", "revoke", "web-3"});
  ASSERT_TRUE(revoked.Succeeded()) << revoked.stderr_text;
  EXPECT_THAT(revoked.stdout_text, HasSubstr("web-3: 1 certificate(s) revoked"));
}

}  // namespace
}  // namespace pyservice::testing
