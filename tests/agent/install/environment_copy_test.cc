// CopyEnvironment on real files in a temporary directory laid out like a
// venv that pip built for release A, copied into release B. The temporary
// directory's file system (ext4 or tmpfs here) has no reflinks, so shared
// files are hard links: same inode.
#include "agent/install/environment_copy.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSitePackages[] = "/.venv/lib/python3.11/site-packages";

std::string Slurp(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

void Write(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << content;
}

ino_t Inode(const std::string& path) {
  struct stat st{};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

class EnvironmentCopyTest : public ::testing::Test {
 protected:
  EnvironmentCopyTest() : a_(dir_.Join("releases/a")), b_(dir_.Join("releases/b")) {
    std::filesystem::create_directories(b_);
    Write(a_ + "/hello/__init__.py", "VERSION = 1\n");
    Write(a_ + "/.venv/pyvenv.cfg",
          absl::StrCat("home = /usr/bin\ncommand = /usr/bin/python3 -m venv ", a_, "/.venv\n"));
    std::filesystem::create_directories(a_ + "/.venv/bin");
    std::filesystem::create_symlink("/usr/bin/python3", a_ + "/.venv/bin/python");
    Write(a_ + "/.venv/bin/tool", absl::StrCat("#!", a_, "/.venv/bin/python\nimport tool\n"));
    chmod((a_ + "/.venv/bin/tool").c_str(), 0755);
    Write(a_ + kSitePackages + "/dep/__init__.py", "DEP = 1\n");
    Write(a_ + kSitePackages + "/dep/__pycache__/__init__.cpython-311.pyc", "compiled");
    Write(a_ + kSitePackages + "/__editable___hello_1_0_0_finder.py",
          absl::StrCat("MAPPING = {'hello': '", a_, "/hello'}\n"));
    Write(a_ + kSitePackages + "/hello-1.0.0.dist-info/direct_url.json",
          absl::StrCat("{\"url\": \"file://", a_, "\", \"dir_info\": {\"editable\": true}}"));
    Write(a_ + kSitePackages + "/hello-1.0.0.dist-info/RECORD", "hello.pth,,\n");
    owner_ = Owner{getuid(), getgid()};
  }

  testing::TempDir dir_;
  const std::string a_;
  const std::string b_;
  Owner owner_{0, 0};
};

TEST_F(EnvironmentCopyTest, FilesNotNamingTheReleaseAreSharedAsTheSameInode) {
  absl::StatusOr<EnvironmentCopyCounts> counts = CopyEnvironment(a_, b_, owner_);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(Inode(b_ + kSitePackages + "/dep/__init__.py"),
            Inode(a_ + kSitePackages + "/dep/__init__.py"));
  EXPECT_EQ(Inode(b_ + kSitePackages + "/hello-1.0.0.dist-info/RECORD"),
            Inode(a_ + kSitePackages + "/hello-1.0.0.dist-info/RECORD"));
  EXPECT_EQ(counts->shared, 2);
  EXPECT_EQ(counts->rewritten, 4);
}

TEST_F(EnvironmentCopyTest, FilesNamingTheOldReleaseNameTheNewOneAndTheOldAreUntouched) {
  ASSERT_TRUE(CopyEnvironment(a_, b_, owner_).ok());
  for (const std::string& relative :
       {std::string("/.venv/pyvenv.cfg"), std::string("/.venv/bin/tool"),
        absl::StrCat(kSitePackages, "/__editable___hello_1_0_0_finder.py"),
        absl::StrCat(kSitePackages, "/hello-1.0.0.dist-info/direct_url.json")}) {
    EXPECT_THAT(Slurp(b_ + relative), HasSubstr(b_)) << relative;
    EXPECT_THAT(Slurp(b_ + relative), Not(HasSubstr(a_))) << relative;
    EXPECT_THAT(Slurp(a_ + relative), HasSubstr(a_)) << relative << " of the old release";
    EXPECT_NE(Inode(b_ + relative), Inode(a_ + relative)) << relative;
  }
  // The editable install now finds the new release's code.
  EXPECT_THAT(Slurp(b_ + kSitePackages + "/__editable___hello_1_0_0_finder.py"),
              HasSubstr(absl::StrCat("'", b_, "/hello'")));
  EXPECT_EQ(Slurp(b_ + "/.venv/bin/tool"), absl::StrCat("#!", b_, "/.venv/bin/python\nimport tool\n"));
  EXPECT_EQ(std::filesystem::status(b_ + "/.venv/bin/tool").permissions(),
            std::filesystem::status(a_ + "/.venv/bin/tool").permissions());
  EXPECT_EQ(std::filesystem::read_symlink(b_ + "/.venv/bin/python"), "/usr/bin/python3");
}

TEST_F(EnvironmentCopyTest, BytecodeIsNotCopied) {
  ASSERT_TRUE(CopyEnvironment(a_, b_, owner_).ok());
  EXPECT_TRUE(std::filesystem::exists(b_ + kSitePackages + "/dep/__init__.py"));
  EXPECT_FALSE(std::filesystem::exists(b_ + kSitePackages + "/dep/__pycache__"))
      << "bytecode names the old release's paths";
}

TEST_F(EnvironmentCopyTest, ASymlinkInTheSourceIsCopiedAsASymlinkNeverFollowed) {
  const std::string secret = dir_.Join("secret");
  // Naming the release, as a file to rewrite would: read through the link,
  // it would land in the new release as a file the app user owns.
  Write(secret, absl::StrCat("T0PS3CRET ", a_, "\n"));
  std::filesystem::create_symlink(secret, a_ + "/.venv/bin/planted");
  ASSERT_TRUE(CopyEnvironment(a_, b_, owner_).ok());
  EXPECT_TRUE(std::filesystem::is_symlink(b_ + "/.venv/bin/planted"));
  EXPECT_EQ(std::filesystem::read_symlink(b_ + "/.venv/bin/planted"), secret);
  EXPECT_EQ(Slurp(secret), absl::StrCat("T0PS3CRET ", a_, "\n"));
}

TEST_F(EnvironmentCopyTest, ACrashedCopyIsReplacedAndTheResultAppearsWhole) {
  Write(b_ + "/.venv.copy/bin/half", "left by a crash");
  ASSERT_TRUE(CopyEnvironment(a_, b_, owner_).ok());
  EXPECT_FALSE(std::filesystem::exists(b_ + "/.venv.copy"));
  EXPECT_FALSE(std::filesystem::exists(b_ + "/.venv/bin/half"));
  EXPECT_TRUE(std::filesystem::exists(b_ + "/.venv/bin/tool"));
}

TEST_F(EnvironmentCopyTest, AnExistingTargetEnvironmentIsAnError) {
  std::filesystem::create_directories(b_ + "/.venv/bin");
  EXPECT_FALSE(CopyEnvironment(a_, b_, owner_).ok());
}

}  // namespace
}  // namespace pyservice::agent
