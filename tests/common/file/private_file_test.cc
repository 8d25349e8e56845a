#include "common/file/private_file.h"

#include <sys/stat.h>

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace pyservice {
namespace {

using ::testing::HasSubstr;

std::string MakeFile(const testing::TempDir& dir, mode_t mode) {
  const std::string path = dir.Join("secret");
  std::ofstream(path) << "s3cret\n";
  chmod(path.c_str(), mode);
  return path;
}

TEST(CheckOwnerOnlyTest, OwnerOnlyModesPass) {
  testing::TempDir dir;
  EXPECT_TRUE(CheckOwnerOnly("token", MakeFile(dir, 0600)).ok());
  EXPECT_TRUE(CheckOwnerOnly("token", MakeFile(dir, 0400)).ok());
}

TEST(CheckOwnerOnlyTest, GroupOrOtherBitsAreRefusedNamingFileAndMode) {
  testing::TempDir dir;
  for (mode_t mode : {0640, 0604, 0620, 0602}) {
    const std::string path = MakeFile(dir, mode);
    const absl::Status status = CheckOwnerOnly("enrollment token file", path);
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << mode;
    EXPECT_THAT(std::string(status.message()),
                HasSubstr("enrollment token file " + path));
    EXPECT_THAT(std::string(status.message()), HasSubstr("chmod 600"));
    EXPECT_THAT(std::string(status.message()), ::testing::Not(HasSubstr("s3cret")));
  }
  EXPECT_THAT(std::string(CheckOwnerOnly("key", MakeFile(dir, 0644)).message()),
              HasSubstr("(mode 0644)"));
}

TEST(CheckOwnerOnlyTest, AMissingFileIsNotFound) {
  testing::TempDir dir;
  EXPECT_EQ(CheckOwnerOnly("key", dir.Join("none")).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace pyservice
