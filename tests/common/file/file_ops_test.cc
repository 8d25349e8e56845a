#include "common/file/file_ops.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace pyservice {
namespace {

mode_t ModeOf(const std::string& path) {
  struct stat info;
  EXPECT_EQ(lstat(path.c_str(), &info), 0);
  return info.st_mode & 07777;
}

TEST(FileOps, WriteFileAtomicallyLeavesNoTemporaryAndSetsMode) {
  testing::TempDir dir;
  const std::string path = dir.Join("config.yaml");
  ASSERT_TRUE(WriteFileAtomically(path, "port: 1\n", 0640, std::nullopt).ok());
  ASSERT_TRUE(WriteFileAtomically(path, "port: 2\n", 0600, std::nullopt).ok());
  EXPECT_EQ(**ReadFileIfExists(path), "port: 2\n");
  EXPECT_EQ(ModeOf(path), 0600u);
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1) << "no temporary file left behind";
}

TEST(FileOps, EnsureFileWritesOnlyWhenSomethingDiffers) {
  testing::TempDir dir;
  const std::string path = dir.Join("f");
  const Owner me{getuid(), getgid()};
  EXPECT_TRUE(*EnsureFile(path, "a", 0600, me));
  EXPECT_FALSE(*EnsureFile(path, "a", 0600, me)) << "same content, mode, owner";
  EXPECT_TRUE(*EnsureFile(path, "b", 0600, me)) << "content differs";
  EXPECT_TRUE(*EnsureFile(path, "b", 0644, me)) << "mode differs";
  EXPECT_EQ(ModeOf(path), 0644u);
}

TEST(FileOps, EnsureDirectoryRepairsTheMode) {
  testing::TempDir dir;
  const std::string path = dir.Join("d");
  EXPECT_TRUE(*EnsureDirectory(path, 0750, std::nullopt));
  EXPECT_EQ(ModeOf(path), 0750u) << "not filtered by the umask";
  EXPECT_FALSE(*EnsureDirectory(path, 0750, std::nullopt));
  chmod(path.c_str(), 0777);
  EXPECT_TRUE(*EnsureDirectory(path, 0750, std::nullopt));
  EXPECT_EQ(ModeOf(path), 0750u);
}

TEST(FileOps, EnsureDirectoryRefusesAFile) {
  testing::TempDir dir;
  std::ofstream(dir.Join("f")) << "x";
  EXPECT_EQ(EnsureDirectory(dir.Join("f"), 0755, std::nullopt).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(FileOps, ReplaceSymlinkSwapsTheTarget) {
  testing::TempDir dir;
  const std::string link = dir.Join("code");
  ASSERT_TRUE(ReplaceSymlink(link, "releases/v1").ok());
  ASSERT_TRUE(ReplaceSymlink(link, "releases/v2").ok());
  EXPECT_EQ(**ReadSymlink(link), "releases/v2");
  EXPECT_FALSE(ReadSymlink(dir.Join("missing"))->has_value());
}

TEST(FileOps, ReadFileIfExistsTellsMissingFromEmpty) {
  testing::TempDir dir;
  std::ofstream(dir.Join("empty"));
  EXPECT_FALSE(ReadFileIfExists(dir.Join("missing"))->has_value());
  EXPECT_EQ(**ReadFileIfExists(dir.Join("empty")), "");
}

TEST(FileOps, RemoveTreeAndFileAreFineWithMissingPaths) {
  testing::TempDir dir;
  EXPECT_TRUE(RemoveTree(dir.Join("nothing")).ok());
  EXPECT_TRUE(RemoveFile(dir.Join("nothing")).ok());
}

}  // namespace
}  // namespace pyservice
