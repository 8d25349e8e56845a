#include "agent/logs/journal_reader.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::agent {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

TEST(JournalReaderTest, ArgvNamesEveryUnitAndNoShell) {
  JournalQuery query;
  query.units = {"hello-web.service", "hello-tick.timer"};
  query.lines = 50;
  query.since_unix_micros = 1700000000123456;
  const std::vector<std::string> argv = JournalctlArgv(query);
  EXPECT_EQ(argv.front(), "journalctl");
  EXPECT_THAT(argv, Contains("--unit=hello-web.service"));
  EXPECT_THAT(argv, Contains("--unit=hello-tick.timer"));
  EXPECT_THAT(argv, Contains("--lines=50"));
  EXPECT_THAT(argv, Contains("--since=@1700000000"));
  EXPECT_THAT(argv, Contains("json"));
}

TEST(JournalReaderTest, ArgvGoesOnAfterTheCursorInsteadOfSince) {
  JournalQuery query;
  query.units = {"hello-web.service"};
  query.since_unix_micros = 1700000000000000;
  query.after_cursor = "s=abc;i=1";
  const std::vector<std::string> argv = JournalctlArgv(query);
  EXPECT_THAT(argv, Contains("--after-cursor=s=abc;i=1"));
  EXPECT_THAT(argv, Not(Contains("--since=@1700000000")));
}

TEST(JournalReaderTest, ParsesEntriesUnitsPrioritiesAndTheLastCursor) {
  const std::string output =
      "{\"__CURSOR\":\"c1\",\"__REALTIME_TIMESTAMP\":\"1700000000000001\","
      "\"_SYSTEMD_UNIT\":\"hello-web.service\",\"PRIORITY\":\"6\",\"MESSAGE\":\"hello 1\"}\n"
      "{\"__CURSOR\":\"c2\",\"__REALTIME_TIMESTAMP\":\"1700000000000002\","
      "\"_SYSTEMD_UNIT\":\"init.scope\",\"UNIT\":\"hello-web.service\",\"PRIORITY\":\"3\","
      "\"MESSAGE\":\"Started hello\"}\n";
  const JournalBatch batch = ParseJournalJson(output, "c0", {"hello-web.service"});
  ASSERT_EQ(batch.entries.size(), 2u);
  EXPECT_EQ(batch.entries[0].unit(), "hello-web.service");
  EXPECT_EQ(batch.entries[0].time_unix_micros(), 1700000000000001);
  EXPECT_EQ(batch.entries[0].priority(), 6u);
  EXPECT_EQ(batch.entries[0].message(), "hello 1");
  EXPECT_EQ(batch.entries[1].unit(), "hello-web.service");
  EXPECT_EQ(batch.entries[1].priority(), 3u);
  EXPECT_EQ(batch.cursor, "c2");
}

// journald stores a line that is not valid UTF-8 as bytes, which journalctl
// prints as an array of numbers; protobuf strings must be valid UTF-8, or
// the whole message would fail to serialize.
TEST(JournalReaderTest, ABinaryMessageIsDecodedAndMadeValidUtf8) {
  const std::string output =
      "{\"__CURSOR\":\"c1\",\"__REALTIME_TIMESTAMP\":\"1\",\"MESSAGE\":[104,105,255]}\n";
  const JournalBatch batch = ParseJournalJson(output, "", {"hello-web.service"});
  ASSERT_EQ(batch.entries.size(), 1u);
  EXPECT_EQ(batch.entries[0].message(), "hi\xEF\xBF\xBD");
}

TEST(JournalReaderTest, NoEntryKeepsTheQueryCursorAndNonJsonLinesAreSkipped) {
  const JournalBatch batch = ParseJournalJson("-- No entries --\n\n", "c7", {"hello-web.service"});
  EXPECT_TRUE(batch.entries.empty());
  EXPECT_EQ(batch.cursor, "c7");
}

}  // namespace
}  // namespace pyservice::agent
