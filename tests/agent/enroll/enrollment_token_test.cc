#include "agent/enroll/enrollment_token.h"

#include <sys/stat.h>

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string TokenFile(const testing::TempDir& dir, const std::string& text, mode_t mode) {
  const std::string path = dir.Join("enroll.token");
  std::ofstream(path) << text;
  chmod(path.c_str(), mode);
  return path;
}

TEST(EnrollmentTokenTest, ReadsTheTokenWithoutSurroundingWhitespace) {
  testing::TempDir dir;
  absl::StatusOr<std::string> token = ReadEnrollmentToken(TokenFile(dir, " tok-123\n", 0600));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "tok-123");
}

TEST(EnrollmentTokenTest, RefusesAFileOthersCanReadNamingItNotTheToken) {
  testing::TempDir dir;
  const std::string path = TokenFile(dir, "tok-secret\n", 0644);
  absl::StatusOr<std::string> token = ReadEnrollmentToken(path);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(token.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(token.status().message()), Not(HasSubstr("tok-secret")));
}

TEST(EnrollmentTokenTest, RefusesAnEmptyOrMissingFile) {
  testing::TempDir dir;
  EXPECT_EQ(ReadEnrollmentToken(TokenFile(dir, "\n", 0600)).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::string> missing = ReadEnrollmentToken(dir.Join("none"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr(dir.Join("none")));
}

}  // namespace
}  // namespace pyservice::agent
