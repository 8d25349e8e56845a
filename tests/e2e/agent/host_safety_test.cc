// The app user against the agent on a real systemd host: between deploys it
// swaps directories of its tree for symlinks to /etc and /root, its repo
// holds a pyproject.toml that links to /dev/zero; and an app that leaves the
// host (`remove`, what a controller's RemoveRequest runs) leaves no byte of
// its secrets behind. One host for the suite; every test first applies
// what it needs, so each can run alone.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/agent/agent_e2e.h"
#include "tests/e2e/testing/test_host.h"

namespace pyservice::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kApp[] = "guarded";
constexpr int kPort = 8100;
constexpr char kAppDir[] = "/applications/guarded/app";
constexpr char kConfigDir[] = "/applications/guarded/app/config";
constexpr char kKeysDir[] = "/applications/guarded/data/keys";
constexpr char kStateDir[] = "/var/lib/pyservice-agent";
// Every secret the app has: in files:, in config (!secret), its deploy key.
constexpr char kFileSecret[] = "FILE-S3CRET-e2e";
constexpr char kTokenSecret[] = "TOKEN-S3CRET-e2e";
constexpr char kConfigSecret[] = "CONFIG-S3CRET-e2e";
constexpr char kKeySecret[] = "KEY-S3CRET-e2e";

class HostSafetyTest : public AgentHostSuite</*kWithBigRepo=*/false> {
 protected:
  void SetUp() override {
    AgentHostSuite::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_FALSE(repos_->commits.empty()) << "building the hello repo failed";
    ASSERT_TRUE(WriteYaml("").ok());
  }

  // The hello app with a second files: entry under the data dir (its
  // parent `keys` is created by the agent, owned by the app user) and a
  // !secret config value. `suffix` changes every secret, so that the next
  // apply rewrites every file.
  static absl::Status WriteYaml(const std::string& suffix) {
    AppOptions app{.name = kApp, .repo = "file:///srv/git/hello.git", .port = kPort,
                   .secret = absl::StrCat(kFileSecret, suffix),
                   .ssh_key = absl::StrCat("-----BEGIN OPENSSH PRIVATE KEY-----\n", kKeySecret,
                                           suffix, "\n-----END OPENSSH PRIVATE KEY-----\n")};
    const std::string yaml = absl::StrReplaceAll(
        AppYaml(app),
        {{"files:\n", absl::StrCat("files:\n  - dest: \"{{ app_data_dir }}/keys/token\"\n"
                                   "    content: \"",
                                   kTokenSecret, suffix, "\"\n")},
         {"config:\n", absl::StrCat("config:\n  db_password: !secret ", kConfigSecret, suffix,
                                    "\n")}});
    return host_->WriteFile(AppYamlPath(kApp), yaml, 0600);
  }

  static absl::StatusOr<ProcessResult> Apply(const std::string& tag = "v1") {
    return RunAgent(*host_, {"apply", AppYamlPath(kApp), "--tag", tag});
  }

  static void ApplyOk() {
    auto result = Apply();
    ASSERT_TRUE(result.ok() && result->Succeeded()) << Describe(result);
  }

  // Runs `script` with sh as the app user.
  static void AsAppUser(const std::string& script) {
    auto out = host_->RunOk(
        {"setpriv", absl::StrCat("--reuid=", kApp), absl::StrCat("--regid=", kApp),
         "--clear-groups", "sh", "-c", script});
    ASSERT_TRUE(out.ok()) << script << ": " << out.status();
  }

  // Paths of files under `dirs` holding `needle` (grep -rlF).
  static std::string FilesHolding(const std::string& needle, const std::vector<std::string>& dirs) {
    std::vector<std::string> argv = {"grep", "-rlF", "--", needle};
    argv.insert(argv.end(), dirs.begin(), dirs.end());
    auto result = host_->Run(argv);
    if (!result.ok()) return result.status().ToString();
    // grep: 0 found, 1 none, 2 trouble.
    if (result->exit_code > 1) return absl::StrCat("grep failed: ", Describe(*result));
    return result->stdout_text;
  }

  static std::string Listing(const std::string& dir) {
    auto out =
        host_->RunOk({"sh", "-c", absl::StrCat("stat -c '%U:%G %a' ", dir, "; ls -A ", dir)});
    return out.ok() ? *out : out.status().ToString();
  }
};

TEST_F(HostSafetyTest, ConfigDirSwappedForSymlinkToEtc_NextDeployFailsAndEtcIsUntouched) {
  ASSERT_NO_FATAL_FAILURE(ApplyOk());
  AsAppUser(absl::StrCat("mv ", kConfigDir, " ", kConfigDir, ".moved && ln -s /etc ", kConfigDir));
  const std::string etc_before = Listing("/etc");
  ASSERT_TRUE(WriteYaml("-2").ok());

  auto result = Apply();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->Succeeded()) << Describe(*result);
  EXPECT_THAT(result->stderr_text, HasSubstr(kConfigDir)) << "the error names the directory";
  EXPECT_EQ(Listing("/etc"), etc_before);
  for (const char* name : {"/etc/config.yaml", "/etc/secret.txt", "/etc/ssh_key"}) {
    EXPECT_FALSE(host_->RunOk({"test", "-e", name}).ok()) << name << " was written";
  }

  AsAppUser(absl::StrCat("rm ", kConfigDir, " && mv ", kConfigDir, ".moved ", kConfigDir));
  ASSERT_NO_FATAL_FAILURE(ApplyOk());
}

TEST_F(HostSafetyTest, FilesDestParentSwappedForSymlinkToRoot_NextDeployFailsAndRootIsUntouched) {
  ASSERT_NO_FATAL_FAILURE(ApplyOk());
  AsAppUser(absl::StrCat("mv ", kKeysDir, " ", kKeysDir, ".moved && ln -s /root ", kKeysDir));
  const std::string root_before = Listing("/root");
  ASSERT_TRUE(WriteYaml("-3").ok());

  auto result = Apply();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->Succeeded()) << Describe(*result);
  EXPECT_THAT(result->stderr_text, HasSubstr("symlink")) << Describe(*result);
  EXPECT_EQ(Listing("/root"), root_before);
  EXPECT_FALSE(host_->RunOk({"test", "-e", "/root/token"}).ok()) << "/root/token was written";

  AsAppUser(absl::StrCat("rm ", kKeysDir, " && mv ", kKeysDir, ".moved ", kKeysDir));
  ASSERT_NO_FATAL_FAILURE(ApplyOk());
}

TEST_F(HostSafetyTest, PyprojectSymlinkToDevZeroFailsTheEnvironmentStepCleanly) {
  ASSERT_NO_FATAL_FAILURE(ApplyOk());
  auto result = Apply("v4-devzero");
  ASSERT_TRUE(result.ok()) << result.status() << " (reading /dev/zero would never end)";
  EXPECT_FALSE(result->Succeeded()) << Describe(*result);
  EXPECT_THAT(result->stderr_text, HasSubstr("environment: "));
  EXPECT_THAT(result->stderr_text, HasSubstr("pyproject.toml: not a regular file"));
  auto live = host_->RunOk({"readlink", absl::StrCat(kAppDir, "/code")});
  EXPECT_THAT(live.value_or(""), HasSubstr(ReleaseId("v1"))) << "nothing live changed";
}

TEST_F(HostSafetyTest, RemoveLeavesNoByteOfAnySecretInTheAppTreeOrTheState) {
  ASSERT_NO_FATAL_FAILURE(ApplyOk());
  const std::vector<std::string> dirs = {"/applications/guarded", kStateDir};
  for (const char* secret : {kFileSecret, kTokenSecret, kConfigSecret, kKeySecret}) {
    ASSERT_NE(FilesHolding(secret, dirs), "") << secret << " is on the host before the remove";
  }

  auto removed = RunAgent(*host_, {"remove", kApp});
  ASSERT_TRUE(removed.ok() && removed->Succeeded()) << Describe(removed);

  for (const char* secret : {kFileSecret, kTokenSecret, kConfigSecret, kKeySecret}) {
    EXPECT_EQ(FilesHolding(secret, dirs), "") << secret << " is left in these files";
  }
  EXPECT_FALSE(host_->RunOk({"test", "-e", "/etc/systemd/system/guarded-web.service"}).ok());
  auto rollback = RunAgent(*host_, {"rollback", kApp});
  ASSERT_TRUE(rollback.ok()) << rollback.status();
  EXPECT_FALSE(rollback->Succeeded()) << "nothing to roll back to: the secrets are gone";

  ASSERT_NO_FATAL_FAILURE(ApplyOk());  // and it comes back whole
  EXPECT_EQ(HttpGet(*host_, kPort).value_or("?"), "hello v1");
}

}  // namespace
}  // namespace pyservice::testing
