#include "common/text/log_text.h"

#include <string>

#include "gtest/gtest.h"

namespace pyservice::text {
namespace {

TEST(ForLogTest, PrintableTextIsKeptAsIsQuotesIncluded) {
  EXPECT_EQ(ForLog("host \"web-1\" failed"), "host \"web-1\" failed");
}

TEST(ForLogTest, ControlCharactersBackslashesAndNonAsciiAreEscaped) {
  EXPECT_EQ(ForLog("a\nb\r\tc\\d\x1b[31m\xc3\xa9"), "a\\nb\\r\\tc\\\\d\\x1b[31m\\xc3\\xa9");
}

TEST(ForLogTest, LongTextIsCutAndItsSizeShown) {
  const std::string text(4 << 20, 'x');
  EXPECT_EQ(ForLog(text, 5), "xxxxx…(4194304 bytes)");
  EXPECT_EQ(ForLog(text).size(), kMaxLoggedBytes + std::string("…(4194304 bytes)").size());
}

}  // namespace
}  // namespace pyservice::text
