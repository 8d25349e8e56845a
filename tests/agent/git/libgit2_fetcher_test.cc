#include "agent/git/libgit2_fetcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/git_repo.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::agent {
namespace {

namespace fs = std::filesystem;
using ::pyservice::testing::GitRepo;
using ::pyservice::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Entries of `dir` whose names contain `part` (leftover *.partial-* dirs).
std::vector<std::string> EntriesContaining(const std::string& dir, const std::string& part) {
  std::vector<std::string> found;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.find(part) != std::string::npos) found.push_back(name);
  }
  return found;
}

// A port on 127.0.0.1 with nothing listening: bound, read back and closed.
int ClosedLocalPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// The upstream an app's repo looks like:
//   c1 (tag v1, annotated): app.py, run.sh (0755), pkg/__init__.py,
//      pkg/data/config.txt, current -> app.py (symlink)
//   c2 (tag v2, lightweight; main): app.py changed
//   c3 (branch feature): feature.txt added
class Libgit2FetcherTest : public ::testing::Test {
 protected:
  Libgit2FetcherTest()
      : home_(MakeHome(temp_)), upstream_(temp_.Join("upstream"), home_) {}

  static std::string MakeHome(const TempDir& temp) {
    fs::create_directories(temp.Join("home"));
    return temp.Join("home");
  }

  void SetUp() override {
    upstream_.WriteFile("app.py", "print('v1')\n");
    upstream_.WriteFile("run.sh", "#!/bin/sh\nexec python3 app.py\n", 0755);
    upstream_.WriteFile("pkg/__init__.py", "");
    upstream_.WriteFile("pkg/data/config.txt", "port: 8000\n");
    upstream_.Symlink("app.py", "current");
    c1_ = upstream_.CommitAll("first");
    upstream_.Git({"tag", "-a", "v1", "-m", "release 1"});

    upstream_.WriteFile("app.py", "print('v2')\n");
    c2_ = upstream_.CommitAll("second");
    upstream_.Git({"tag", "v2"});

    upstream_.Git({"checkout", "--quiet", "-b", "feature"});
    upstream_.WriteFile("feature.txt", "new\n");
    c3_ = upstream_.CommitAll("feature work");
    upstream_.Git({"checkout", "--quiet", "main"});
  }

  FetchRequest Request(const std::string& ref) const {
    FetchRequest request;
    request.repo_url = upstream_.url();
    request.ref = ref;
    request.mirror_dir = mirror_dir();
    return request;
  }

  std::string mirror_dir() const { return temp_.Join("mirrors/app.git"); }

  TempDir temp_;
  std::string home_;
  GitRepo upstream_;
  Libgit2Fetcher fetcher_;
  std::string c1_, c2_, c3_;
};

TEST_F(Libgit2FetcherTest, Fetch_AnnotatedTagResolvesToItsCommit) {
  absl::StatusOr<std::string> commit = fetcher_.Fetch(Request("v1"));
  ASSERT_TRUE(commit.ok()) << commit.status();
  EXPECT_EQ(*commit, c1_);
  // The tag object's own id is something else; it must not leak out.
  EXPECT_NE(*commit, upstream_.Git({"rev-parse", "v1"}));
}

TEST_F(Libgit2FetcherTest, Fetch_LightweightTag) {
  absl::StatusOr<std::string> commit = fetcher_.Fetch(Request("v2"));
  ASSERT_TRUE(commit.ok()) << commit.status();
  EXPECT_EQ(*commit, c2_);
}

TEST_F(Libgit2FetcherTest, Fetch_Branches) {
  absl::StatusOr<std::string> feature = fetcher_.Fetch(Request("feature"));
  ASSERT_TRUE(feature.ok()) << feature.status();
  EXPECT_EQ(*feature, c3_);
  absl::StatusOr<std::string> main = fetcher_.Fetch(Request("main"));
  ASSERT_TRUE(main.ok()) << main.status();
  EXPECT_EQ(*main, c2_);
}

TEST_F(Libgit2FetcherTest, Fetch_FullCommitId) {
  absl::StatusOr<std::string> commit = fetcher_.Fetch(Request(c1_));
  ASSERT_TRUE(commit.ok()) << commit.status();
  EXPECT_EQ(*commit, c1_);
}

TEST_F(Libgit2FetcherTest, Fetch_AbbreviatedCommitId) {
  absl::StatusOr<std::string> commit = fetcher_.Fetch(Request(c3_.substr(0, 8)));
  ASSERT_TRUE(commit.ok()) << commit.status();
  EXPECT_EQ(*commit, c3_);
}

TEST_F(Libgit2FetcherTest, Fetch_MissingTagIsNotFoundNamingRepoAndRef) {
  absl::StatusOr<std::string> commit = fetcher_.Fetch(Request("v9"));
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kNotFound) << commit.status();
  EXPECT_THAT(commit.status().message(), HasSubstr(upstream_.url()));
  EXPECT_THAT(commit.status().message(), HasSubstr("v9"));
}

TEST_F(Libgit2FetcherTest, Fetch_UnknownCommitIdIsNotFound) {
  absl::StatusOr<std::string> commit =
      fetcher_.Fetch(Request("0123456789abcdef0123456789abcdef01234567"));
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kNotFound) << commit.status();
}

TEST_F(Libgit2FetcherTest, Fetch_InvalidRefIsInvalidArgument) {
  for (const std::string ref : {"-v1", "a..b", ""}) {
    absl::StatusOr<std::string> commit = fetcher_.Fetch(Request(ref));
    EXPECT_EQ(commit.status().code(), absl::StatusCode::kInvalidArgument)
        << ref << ": " << commit.status();
  }
  EXPECT_FALSE(fs::exists(mirror_dir()));
}

TEST_F(Libgit2FetcherTest, Fetch_AgainSeesNewCommitsInTheSameMirror) {
  ASSERT_TRUE(fetcher_.Fetch(Request("main")).ok());
  upstream_.WriteFile("app.py", "print('v3')\n");
  const std::string c4 = upstream_.CommitAll("third");
  upstream_.Git({"tag", "-a", "v3", "-m", "release 3"});

  absl::StatusOr<std::string> main = fetcher_.Fetch(Request("main"));
  ASSERT_TRUE(main.ok()) << main.status();
  EXPECT_EQ(*main, c4);
  absl::StatusOr<std::string> v3 = fetcher_.Fetch(Request("v3"));
  ASSERT_TRUE(v3.ok()) << v3.status();
  EXPECT_EQ(*v3, c4);
  absl::StatusOr<std::string> v1 = fetcher_.Fetch(Request("v1"));
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(*v1, c1_);
}

TEST_F(Libgit2FetcherTest, Fetch_SeesForceMovedTags) {
  ASSERT_TRUE(fetcher_.Fetch(Request("v1")).ok());
  upstream_.Git({"tag", "-f", "v2", c1_});
  upstream_.Git({"tag", "-f", "-a", "v1", "-m", "moved", c3_});

  absl::StatusOr<std::string> v2 = fetcher_.Fetch(Request("v2"));
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(*v2, c1_);
  absl::StatusOr<std::string> v1 = fetcher_.Fetch(Request("v1"));
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(*v1, c3_);
}

TEST_F(Libgit2FetcherTest, Fetch_DeletedTagIsPrunedFromTheMirror) {
  ASSERT_TRUE(fetcher_.Fetch(Request("v2")).ok());
  upstream_.Git({"tag", "-d", "v2"});
  absl::StatusOr<std::string> commit = fetcher_.Fetch(Request("v2"));
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kNotFound) << commit.status();
}

TEST_F(Libgit2FetcherTest, Fetch_MirrorFollowsAChangedRepoUrl) {
  ASSERT_TRUE(fetcher_.Fetch(Request("v1")).ok());
  GitRepo other(temp_.Join("other"), home_);
  other.WriteFile("other.py", "pass\n");
  const std::string other_commit = other.CommitAll("other first");

  FetchRequest request = Request("main");
  request.repo_url = other.url();
  absl::StatusOr<std::string> commit = fetcher_.Fetch(request);
  ASSERT_TRUE(commit.ok()) << commit.status();
  EXPECT_EQ(*commit, other_commit);
  request.ref = "v1";
  EXPECT_EQ(fetcher_.Fetch(request).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(Libgit2FetcherTest, Fetch_KnownFullCommitIdNeedsNoRemote) {
  ASSERT_TRUE(fetcher_.Fetch(Request("v1")).ok());
  fs::remove_all(upstream_.path());

  absl::StatusOr<std::string> commit = fetcher_.Fetch(Request(c1_));
  ASSERT_TRUE(commit.ok()) << commit.status();
  EXPECT_EQ(*commit, c1_);
  // A name can move, so it always needs the remote.
  EXPECT_EQ(fetcher_.Fetch(Request("v1")).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(Libgit2FetcherTest, Fetch_UnreachableRepoIsUnavailableNamingTheUrl) {
  FetchRequest request = Request("v1");
  request.repo_url = "file:///nonexistent/repo.git";
  absl::StatusOr<std::string> commit = fetcher_.Fetch(request);
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kUnavailable) << commit.status();
  EXPECT_THAT(commit.status().message(), HasSubstr("file:///nonexistent/repo.git"));
}

TEST_F(Libgit2FetcherTest, Fetch_SshToClosedPortIsUnavailableWithoutTheKey) {
  const std::string key_content = "-----BEGIN OPENSSH PRIVATE KEY-----\nS3CR3T-K3Y-B0DY\n";
  const std::string key_path = temp_.Join("ssh_key");
  std::ofstream(key_path) << key_content;
  chmod(key_path.c_str(), 0600);
  FetchRequest request = Request("v1");
  request.repo_url = absl::StrCat("ssh://git@127.0.0.1:", ClosedLocalPort(), "/srv/app.git");
  request.ssh_key_path = key_path;

  absl::StatusOr<std::string> commit = fetcher_.Fetch(request);
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kUnavailable) << commit.status();
  EXPECT_THAT(commit.status().message(), HasSubstr(request.repo_url));
  EXPECT_THAT(commit.status().message(), Not(HasSubstr("S3CR3T")));
}

TEST_F(Libgit2FetcherTest, Fetch_UnreadableKeyFileIsFailedPrecondition) {
  FetchRequest request = Request("v1");
  request.repo_url = "git@127.0.0.1:srv/app.git";
  request.ssh_key_path = temp_.Join("no-such-key");
  absl::StatusOr<std::string> commit = fetcher_.Fetch(request);
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kFailedPrecondition) << commit.status();
  EXPECT_THAT(commit.status().message(), HasSubstr("no-such-key"));
}

// The key sits in the app user's config dir: a symlink there to root's own
// key must not make the agent authenticate with it.
TEST_F(Libgit2FetcherTest, Fetch_KeyFileThatIsASymlinkIsRefusedNotFollowed) {
  const std::string roots_key = temp_.Join("roots_key");
  std::ofstream(roots_key) << "-----BEGIN OPENSSH PRIVATE KEY-----\nR00T-K3Y\n";
  const std::string key_path = temp_.Join("ssh_key");
  ASSERT_EQ(symlink(roots_key.c_str(), key_path.c_str()), 0);
  // The app user's, as it would be in its config dir.
  ASSERT_EQ(lchown(key_path.c_str(), 65534, 65534), 0) << "run as root (as the agent is)";
  FetchRequest request = Request("v1");
  request.repo_url = absl::StrCat("ssh://git@127.0.0.1:", ClosedLocalPort(), "/srv/app.git");
  request.ssh_key_path = key_path;
  absl::StatusOr<std::string> commit = fetcher_.Fetch(request);
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kFailedPrecondition) << commit.status();
  EXPECT_THAT(commit.status().message(), HasSubstr("symlink"));
  EXPECT_THAT(commit.status().message(), HasSubstr(key_path));
}

TEST_F(Libgit2FetcherTest, Fetch_PasswordInUrlIsNotRepeated) {
  FetchRequest request = Request("v1");
  request.repo_url = absl::StrCat("https://deploy:t0ps3cret@127.0.0.1:", ClosedLocalPort(),
                                  "/org/app.git");
  absl::StatusOr<std::string> commit = fetcher_.Fetch(request);
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kUnavailable) << commit.status();
  EXPECT_THAT(commit.status().message(), HasSubstr("https://***@127.0.0.1:"));
  EXPECT_THAT(commit.status().message(), Not(HasSubstr("t0ps3cret")));
  EXPECT_THAT(commit.status().message(), Not(HasSubstr("deploy")));
}

TEST_F(Libgit2FetcherTest, Fetch_PastDeadlineIsAbandoned) {
  Libgit2FetcherOptions options;
  options.fetch_timeout = -absl::Seconds(1);
  Libgit2Fetcher impatient(options);
  absl::StatusOr<std::string> commit = impatient.Fetch(Request("v1"));
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kUnavailable) << commit.status();
  EXPECT_THAT(commit.status().message(), HasSubstr("took too long"));
}

TEST_F(Libgit2FetcherTest, Export_WritesTheTreeWithModesAndSymlinks) {
  ASSERT_TRUE(fetcher_.Fetch(Request("v1")).ok());
  const std::string dest = temp_.Join("releases/v1");
  fs::create_directories(temp_.Join("releases"));
  ASSERT_TRUE(fetcher_.Export(mirror_dir(), c1_, dest).ok());

  EXPECT_EQ(ReadAll(dest + "/app.py"), "print('v1')\n");
  EXPECT_EQ(ReadAll(dest + "/run.sh"), "#!/bin/sh\nexec python3 app.py\n");
  EXPECT_EQ(ReadAll(dest + "/pkg/data/config.txt"), "port: 8000\n");
  EXPECT_EQ(ModeOf(dest), 0755u);
  EXPECT_EQ(ModeOf(dest + "/app.py"), 0644u);
  EXPECT_EQ(ModeOf(dest + "/run.sh"), 0755u);
  EXPECT_EQ(ModeOf(dest + "/pkg"), 0755u);
  EXPECT_EQ(ModeOf(dest + "/pkg/__init__.py"), 0644u);
  ASSERT_TRUE(fs::is_symlink(dest + "/current"));
  EXPECT_EQ(fs::read_symlink(dest + "/current"), "app.py");
  EXPECT_FALSE(fs::exists(dest + "/.git"));
  EXPECT_FALSE(fs::exists(dest + "/feature.txt"));
  EXPECT_THAT(EntriesContaining(temp_.Join("releases"), "partial"), IsEmpty());
}

TEST_F(Libgit2FetcherTest, Export_RefusesAnExistingDestination) {
  ASSERT_TRUE(fetcher_.Fetch(Request("v1")).ok());
  const std::string dest = temp_.Join("existing");
  fs::create_directories(dest);
  std::ofstream(dest + "/keep") << "mine";

  absl::Status status = fetcher_.Export(mirror_dir(), c1_, dest);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  EXPECT_EQ(ReadAll(dest + "/keep"), "mine");
  EXPECT_FALSE(fs::exists(dest + "/app.py"));
}

TEST_F(Libgit2FetcherTest, Export_CommitNotInMirrorIsNotFoundAndWritesNothing) {
  ASSERT_TRUE(fetcher_.Fetch(Request("v1")).ok());
  const std::string dest = temp_.Join("release");
  absl::Status status =
      fetcher_.Export(mirror_dir(), "0123456789abcdef0123456789abcdef01234567", dest);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_THAT(EntriesContaining(temp_.path(), "partial"), IsEmpty());
}

TEST_F(Libgit2FetcherTest, Export_NeedsAFullCommitId) {
  ASSERT_TRUE(fetcher_.Fetch(Request("v1")).ok());
  absl::Status status = fetcher_.Export(mirror_dir(), c1_.substr(0, 8), temp_.Join("release"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
}

TEST_F(Libgit2FetcherTest, Export_MissingParentIsFailedPrecondition) {
  ASSERT_TRUE(fetcher_.Fetch(Request("v1")).ok());
  absl::Status status = fetcher_.Export(mirror_dir(), c1_, temp_.Join("no/such/parent/release"));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
}

TEST_F(Libgit2FetcherTest, Export_SkipsSubmodules) {
  upstream_.Git({"update-index", "--add", "--cacheinfo",
                 absl::StrCat("160000,", c1_, ",vendor/lib")});
  upstream_.Git({"commit", "--quiet", "-m", "add a submodule"});
  absl::StatusOr<std::string> commit = fetcher_.Fetch(Request("main"));
  ASSERT_TRUE(commit.ok()) << commit.status();

  const std::string dest = temp_.Join("release");
  ASSERT_TRUE(fetcher_.Export(mirror_dir(), *commit, dest).ok());
  EXPECT_TRUE(fs::exists(dest + "/app.py"));
  EXPECT_FALSE(fs::exists(dest + "/vendor/lib"));
}

// Trees a hostile server could send, written straight into the mirror (git
// itself refuses to create them): each must be refused without writing
// outside the destination, and without leaving anything behind.
class HostileTreeTest : public Libgit2FetcherTest,
                        public ::testing::WithParamInterface<std::string> {};

TEST_P(HostileTreeTest, Export_RefusesEntry) {
  ASSERT_TRUE(fetcher_.Fetch(Request("v1")).ok());
  const GitRepo mirror_tool(mirror_dir(), home_, GitRepo::kExisting);
  const std::string blob = mirror_tool.Git({"hash-object", "-w", "--stdin"}, "owned\n");
  const std::string raw_blob_id = absl::HexStringToBytes(blob);
  const std::string tree_bytes = absl::StrCat("100644 ", GetParam(), std::string(1, '\0'),
                                              raw_blob_id);
  const std::string tree = mirror_tool.Git(
      {"hash-object", "-w", "--literally", "-t", "tree", "--stdin"}, tree_bytes);
  const std::string commit = mirror_tool.Git({"commit-tree", tree, "-m", "evil"});

  const std::string dest = temp_.Join("releases/evil");
  fs::create_directories(temp_.Join("releases"));
  absl::Status status = fetcher_.Export(mirror_dir(), commit, dest);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_FALSE(fs::exists(temp_.Join("releases/owned")));
  EXPECT_THAT(EntriesContaining(temp_.Join("releases"), "partial"), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Names, HostileTreeTest,
                         ::testing::Values("..", ".git", ".GIT", "."));

}  // namespace
}  // namespace pyservice::agent
