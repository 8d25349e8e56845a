#include "controller/fleet/log_tails.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::controller::fleet {
namespace {

using ::testing::ElementsAre;

v1::LogChunk Chunk(uint64_t id, const std::string& message, bool done = false) {
  v1::LogChunk chunk;
  chunk.set_tail_id(id);
  v1::JournalEntry& entry = *chunk.add_entries();
  entry.set_unit("hello-web.service");
  entry.set_time_unix_micros(1700000000000001);
  entry.set_message(message);
  chunk.set_done(done);
  return chunk;
}

TEST(LogTailsTest, EntriesOfTheAskedHostsArriveWithHostAndTime) {
  LogTails tails;
  LogTails::Opened opened = tails.Open({"web-1", "web-2"}, 100);
  tails.Deliver("web-1", Chunk(opened.id, "one"));
  LogStream::Taken taken = opened.stream->Take(absl::ZeroDuration());
  ASSERT_EQ(taken.response.entries_size(), 1);
  EXPECT_EQ(taken.response.entries(0).host(), "web-1");
  EXPECT_EQ(taken.response.entries(0).unit(), "hello-web.service");
  EXPECT_EQ(taken.response.entries(0).time(), "2023-11-14T22:13:20.000001Z");
  EXPECT_EQ(taken.response.entries(0).message(), "one");
  EXPECT_FALSE(taken.finished);
}

// Another agent cannot write into a tail it was not asked for.
TEST(LogTailsTest, AChunkFromAHostTheTailDidNotAskIsIgnored) {
  LogTails tails;
  LogTails::Opened opened = tails.Open({"web-1"}, 100);
  tails.Deliver("intruder", Chunk(opened.id, "forged", /*done=*/true));
  tails.Deliver("web-1", Chunk(opened.id + 1, "other tail"));
  LogStream::Taken taken = opened.stream->Take(absl::ZeroDuration());
  EXPECT_EQ(taken.response.entries_size(), 0);
  EXPECT_FALSE(taken.finished);
}

TEST(LogTailsTest, TheTailFinishesWhenEveryHostIsDoneOrGoneWithTheirErrors) {
  LogTails tails;
  LogTails::Opened opened = tails.Open({"web-1", "web-2"}, 100);
  tails.Deliver("web-1", Chunk(opened.id, "last", /*done=*/true));
  tails.HostGone("web-2");
  LogStream::Taken taken = opened.stream->Take(absl::ZeroDuration());
  EXPECT_EQ(taken.response.entries_size(), 1);
  EXPECT_THAT(taken.response.host_errors(), ElementsAre("web-2: the host disconnected"));
  EXPECT_TRUE(taken.finished);
  // Nothing is left to stop.
  EXPECT_TRUE(tails.Close(opened.id).empty());
}

TEST(LogTailsTest, ASlowReaderGetsACountOfDroppedEntriesNotUnboundedMemory) {
  LogTails tails;
  LogTails::Opened opened = tails.Open({"web-1"}, 2);
  for (int i = 0; i < 5; ++i) tails.Deliver("web-1", Chunk(opened.id, "x"));
  LogStream::Taken taken = opened.stream->Take(absl::ZeroDuration());
  EXPECT_EQ(taken.response.entries_size(), 2);
  EXPECT_EQ(taken.response.dropped(), 3u);
}

TEST(LogTailsTest, CloseReturnsTheHostsStillTailingAndShutdownEndsStreams) {
  LogTails tails;
  LogTails::Opened opened = tails.Open({"web-1", "web-2"}, 100);
  tails.Deliver("web-1", Chunk(opened.id, "done", true));
  EXPECT_THAT(tails.Close(opened.id), ElementsAre("web-2"));
  LogTails::Opened other = tails.Open({"web-1"}, 100);
  tails.Shutdown();
  EXPECT_TRUE(other.stream->Take(absl::ZeroDuration()).shut_down);
  EXPECT_EQ(tails.Open({"web-1"}, 100).stream, nullptr);
}

}  // namespace
}  // namespace pyservice::controller::fleet
