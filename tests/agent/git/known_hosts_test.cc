#include "agent/git/known_hosts.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/process/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::agent {
namespace {

using ::pyservice::testing::TempDir;
using ::testing::HasSubstr;

std::string FakeKey(char fill) {
  return absl::StrCat(std::string("\0\0\0\x0bssh-ed25519\0\0\0\x20", 19), std::string(32, fill));
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

absl::StatusOr<ProcessResult> RunArgv(std::vector<std::string> argv) {
  ProcessOptions options;
  options.argv = std::move(argv);
  return RunProcess(options);
}

TEST(KnownHostsNameForUrlTest, FollowsOpenSshNaming) {
  EXPECT_EQ(KnownHostsNameForUrl("git@github.com:org/app.git"), "github.com");
  EXPECT_EQ(KnownHostsNameForUrl("Git.Example.com:org/app.git"), "git.example.com");
  EXPECT_EQ(KnownHostsNameForUrl("ssh://git@git.example.com/org/app.git"), "git.example.com");
  EXPECT_EQ(KnownHostsNameForUrl("ssh://git.example.com:22/org/app.git"), "git.example.com");
  EXPECT_EQ(KnownHostsNameForUrl("ssh://git@127.0.0.1:2222/srv/app.git"), "[127.0.0.1]:2222");
  EXPECT_EQ(KnownHostsNameForUrl("ssh://git@[::1]:2222/srv/app.git"), "[::1]:2222");
  EXPECT_EQ(KnownHostsNameForUrl("git@[::1]:srv/app.git"), "::1");
  EXPECT_EQ(KnownHostsNameForUrl("https://github.com/org/app.git"), "");
  EXPECT_EQ(KnownHostsNameForUrl("file:///srv/git/app.git"), "");
}

class KnownHostsFileTest : public ::testing::Test {
 protected:
  std::string path() const { return temp_.Join("state/known_hosts"); }
  TempDir temp_;
};

TEST_F(KnownHostsFileTest, FirstKeyIsRememberedInOpenSshFormat) {
  const KnownHostsFile file(path());
  ASSERT_TRUE(file.Verify("[127.0.0.1]:2222", FakeKey('a')).ok());
  EXPECT_EQ(ReadAll(path()),
            absl::StrCat("[127.0.0.1]:2222 ssh-ed25519 ", absl::Base64Escape(FakeKey('a')), "\n"));
  struct stat st;
  ASSERT_EQ(stat(path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(KnownHostsFileTest, SameKeyPassesAndChangedKeyIsRefused) {
  const KnownHostsFile file(path());
  ASSERT_TRUE(file.Verify("git.example.com", FakeKey('a')).ok());
  EXPECT_TRUE(file.Verify("GIT.example.com", FakeKey('a')).ok());

  const absl::Status changed = file.Verify("git.example.com", FakeKey('b'));
  EXPECT_EQ(changed.code(), absl::StatusCode::kFailedPrecondition) << changed;
  EXPECT_THAT(changed.message(), HasSubstr(HostKeyFingerprint(FakeKey('a'))));
  EXPECT_THAT(changed.message(), HasSubstr(HostKeyFingerprint(FakeKey('b'))));
  EXPECT_THAT(changed.message(), HasSubstr(path()));
  // Refusing does not overwrite what was known.
  EXPECT_FALSE(file.Verify("git.example.com", FakeKey('b')).ok());
  EXPECT_TRUE(file.Verify("git.example.com", FakeKey('a')).ok());
}

TEST_F(KnownHostsFileTest, HostsAreIndependent) {
  const KnownHostsFile file(path());
  ASSERT_TRUE(file.Verify("a.example.com", FakeKey('a')).ok());
  EXPECT_TRUE(file.Verify("b.example.com", FakeKey('b')).ok());
  EXPECT_TRUE(file.Verify("[a.example.com]:2222", FakeKey('c')).ok());
  EXPECT_TRUE(file.Verify("a.example.com", FakeKey('a')).ok());
}

TEST_F(KnownHostsFileTest, ReadsAPreSeededFile) {
  std::filesystem::create_directories(temp_.Join("state"));
  std::ofstream(path()) << "# seeded by the operator\n"
                        << "|1|hashed|entry ssh-ed25519 AAAA\n"
                        << "mirror.example.com,git.example.com ssh-ed25519 "
                        << absl::Base64Escape(FakeKey('s'));  // no final newline
  const KnownHostsFile file(path());
  EXPECT_TRUE(file.Verify("git.example.com", FakeKey('s')).ok());
  EXPECT_FALSE(file.Verify("mirror.example.com", FakeKey('x')).ok());
  ASSERT_TRUE(file.Verify("new.example.com", FakeKey('n')).ok());
  EXPECT_TRUE(file.Verify("git.example.com", FakeKey('s')).ok());
  EXPECT_TRUE(file.Verify("new.example.com", FakeKey('n')).ok());
}

TEST_F(KnownHostsFileTest, NotAnSshKeyIsInvalidArgument) {
  const KnownHostsFile file(path());
  EXPECT_EQ(file.Verify("h", "xy").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(file.Verify("h", std::string("\0\0\0\x50short", 9)).code(),
            absl::StatusCode::kInvalidArgument);
}

// The file and the fingerprint agree with OpenSSH's own tools.
TEST_F(KnownHostsFileTest, MatchesSshKeygen) {
  const std::string key = temp_.Join("host_key");
  absl::StatusOr<ProcessResult> generated =
      RunArgv({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key});
  if (!generated.ok()) GTEST_SKIP() << "no ssh-keygen: " << generated.status();
  ASSERT_TRUE(generated->Succeeded()) << generated->stderr_text;
  const std::vector<std::string> public_fields = absl::StrSplit(ReadAll(key + ".pub"), ' ');
  ASSERT_GE(public_fields.size(), 2u);
  std::string blob;
  ASSERT_TRUE(absl::Base64Unescape(public_fields[1], &blob));

  const KnownHostsFile file(path());
  ASSERT_TRUE(file.Verify("[127.0.0.1]:2222", blob).ok());

  absl::StatusOr<ProcessResult> fingerprint =
      RunArgv({"ssh-keygen", "-l", "-E", "sha256", "-f", key + ".pub"});
  ASSERT_TRUE(fingerprint.ok() && fingerprint->Succeeded());
  EXPECT_THAT(fingerprint->stdout_text, HasSubstr(HostKeyFingerprint(blob) + " "));

  absl::StatusOr<ProcessResult> found =
      RunArgv({"ssh-keygen", "-F", "[127.0.0.1]:2222", "-f", path()});
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->Succeeded()) << found->stdout_text << found->stderr_text;
  EXPECT_THAT(found->stdout_text, HasSubstr(public_fields[1]));
}

}  // namespace
}  // namespace pyservice::agent
