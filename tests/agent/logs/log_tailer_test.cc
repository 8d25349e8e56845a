#include "agent/logs/log_tailer.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/api/agent_message_limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/recording_message_sink.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A journal in memory: Read answers from `entries` as journalctl would
// (the last `lines`, or the first `lines` after a cursor, which is the
// index of an entry), and records every query.
class FakeJournal final : public JournalReader {
 public:
  absl::StatusOr<JournalBatch> Read(const JournalQuery& query,
                                    const std::function<bool()>&) override {
    absl::MutexLock lock(&mu_);
    queries_.push_back(query);
    JournalBatch batch;
    size_t begin = 0;
    size_t end = entries_.size();
    if (!query.after_cursor.empty()) {
      begin = std::stoul(query.after_cursor) + 1;
      end = std::min(end, begin + query.lines);
    } else if (end > query.lines) {
      begin = end - query.lines;
    }
    for (size_t i = begin; i < end; ++i) batch.entries.push_back(entries_[i]);
    batch.cursor = end > begin ? std::to_string(end - 1) : query.after_cursor;
    return batch;
  }

  void Append(const std::string& message, int64_t micros = 1700000000000000) {
    absl::MutexLock lock(&mu_);
    v1::JournalEntry entry;
    entry.set_unit("hello-web.service");
    entry.set_time_unix_micros(micros);
    entry.set_message(message);
    entries_.push_back(std::move(entry));
  }

  std::vector<JournalQuery> Queries() {
    absl::MutexLock lock(&mu_);
    return queries_;
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::JournalEntry> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<JournalQuery> queries_ ABSL_GUARDED_BY(mu_);
};

std::vector<std::string> Messages(const std::vector<v1::AgentMessage>& sent) {
  std::vector<std::string> lines;
  for (const v1::AgentMessage& message : sent) {
    for (const v1::JournalEntry& entry : message.logs().entries()) {
      lines.push_back(entry.message());
    }
  }
  return lines;
}

bool Done(const std::vector<v1::AgentMessage>& sent) {
  return !sent.empty() && sent.back().logs().done();
}

class LogTailerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.Initialize().ok());
    v1::AppState state;
    state.set_app("hello");
    v1::WrittenFile& unit = *state.add_files();
    unit.set_path("/etc/systemd/system/hello-web.service");
    unit.set_kind("unit");
    v1::WrittenFile& config = *state.add_files();
    config.set_path("/srv/hello/config.yaml");
    config.set_kind("config");
    ASSERT_TRUE(store_.Save(state).ok());
  }

  v1::LogTailRequest Request(uint64_t id, const std::string& app, bool follow = false) {
    v1::LogTailRequest request;
    request.set_tail_id(id);
    request.set_app(app);
    request.set_follow(follow);
    return request;
  }

  testing::TempDir dir_;
  StateStore store_{dir_.path()};
  FakeJournal journal_;
  testing::RecordingMessageSink sink_;
  testing::FakeClock clock_;
  LogTailerOptions options_{.poll_interval = absl::Milliseconds(1)};
};

TEST_F(LogTailerTest, ReadsOnlyTheUnitsTheAgentWroteForTheApp) {
  journal_.Append("one");
  LogTailer tailer(journal_, store_, sink_, clock_, options_);
  tailer.Start(Request(7, "hello"));
  ASSERT_TRUE(sink_.WaitFor(Done));
  const std::vector<JournalQuery> queries = journal_.Queries();
  ASSERT_EQ(queries.size(), 1u);
  EXPECT_THAT(queries[0].units, ElementsAre("hello-web.service"));
  EXPECT_THAT(Messages(sink_.Messages()), ElementsAre("one"));
  EXPECT_EQ(sink_.Messages().back().logs().tail_id(), 7u);
}

// Host safety: the request names an app, never a unit; an app the agent
// did not deploy (or a name that would leave the state dir) reads nothing.
TEST_F(LogTailerTest, AnAppNotDeployedHereOrABadNameReadsNoJournal) {
  LogTailer tailer(journal_, store_, sink_, clock_, options_);
  tailer.Start(Request(1, "other"));
  tailer.Start(Request(2, "../../etc"));
  ASSERT_TRUE(sink_.WaitFor([](const auto& sent) { return sent.size() == 2; }));
  EXPECT_TRUE(journal_.Queries().empty());
  const std::vector<v1::AgentMessage> sent = sink_.Messages();
  EXPECT_TRUE(sent[0].logs().done());
  EXPECT_THAT(sent[0].logs().error(), HasSubstr("app other has no units on this host"));
  EXPECT_TRUE(sent[1].logs().done());
  EXPECT_THAT(sent[1].logs().error(), HasSubstr("invalid request: app"));
}

TEST_F(LogTailerTest, ManyEntriesGoInChunksWithinTheStreamLimits) {
  for (int i = 0; i < 450; ++i) journal_.Append(absl::StrCat(i, std::string(5000, 'x')));
  LogTailer tailer(journal_, store_, sink_, clock_, options_);
  v1::LogTailRequest request = Request(1, "hello");
  request.set_lines(1000);
  tailer.Start(request);
  ASSERT_TRUE(sink_.WaitFor(Done));
  const std::vector<v1::AgentMessage> sent = sink_.Messages();
  ASSERT_EQ(sent.size(), 3u);
  for (const v1::AgentMessage& message : sent) {
    EXPECT_LE(message.logs().entries_size(), AgentMessageLimits::kLogEntries);
    for (const v1::JournalEntry& entry : message.logs().entries()) {
      EXPECT_LE(entry.message().size(), AgentMessageLimits::kLogMessage);
    }
  }
  EXPECT_EQ(Messages(sent).size(), 450u);
}

TEST_F(LogTailerTest, TheLineCountIsCappedAtTheMaximum) {
  LogTailer tailer(journal_, store_, sink_, clock_, options_);
  v1::LogTailRequest request = Request(1, "hello");
  request.set_lines(1000000);
  tailer.Start(request);
  ASSERT_TRUE(sink_.WaitFor(Done));
  EXPECT_EQ(journal_.Queries().at(0).lines, options_.max_lines);
}

TEST_F(LogTailerTest, AFollowingTailSendsNewLinesUntilStopped) {
  journal_.Append("old");
  LogTailer tailer(journal_, store_, sink_, clock_, options_);
  tailer.Start(Request(3, "hello", /*follow=*/true));
  ASSERT_TRUE(sink_.WaitFor([](const auto& sent) { return Messages(sent).size() == 1; }));
  journal_.Append("new");
  ASSERT_TRUE(sink_.WaitFor([](const auto& sent) { return Messages(sent).size() == 2; }));
  EXPECT_THAT(Messages(sink_.Messages()), ElementsAre("old", "new"));
  EXPECT_FALSE(sink_.Messages().back().logs().done());
  // "new" was read by a poll after the cursor of "old", bounded per poll.
  bool polled_after_old = false;
  for (const JournalQuery& query : journal_.Queries()) {
    if (query.after_cursor == "0") {
      polled_after_old = true;
      EXPECT_EQ(query.lines, options_.lines_per_poll);
    }
  }
  EXPECT_TRUE(polled_after_old);
  tailer.Stop(3);
  EXPECT_EQ(tailer.Running(), 0u);
}

TEST_F(LogTailerTest, StopAllEndsEveryTailAndTailsAreBoundedInNumber) {
  LogTailerOptions options = options_;
  options.max_tails = 2;
  LogTailer tailer(journal_, store_, sink_, clock_, options);
  tailer.Start(Request(1, "hello", true));
  tailer.Start(Request(2, "hello", true));
  tailer.Start(Request(3, "hello", true));
  ASSERT_TRUE(sink_.WaitFor([](const auto& sent) {
    for (const v1::AgentMessage& message : sent) {
      if (message.logs().tail_id() == 3 && message.logs().done()) return true;
    }
    return false;
  }));
  EXPECT_EQ(tailer.Running(), 2u);
  tailer.StopAll();
  EXPECT_EQ(tailer.Running(), 0u);
  for (const v1::AgentMessage& message : sink_.Messages()) {
    if (message.logs().tail_id() == 3) {
      EXPECT_THAT(message.logs().error(), HasSubstr("2 log tails"));
    }
  }
}

TEST_F(LogTailerTest, EntriesBeforeSinceAreDroppedToTheMicrosecond) {
  journal_.Append("before", 1700000000000100);
  journal_.Append("after", 1700000000000300);
  LogTailer tailer(journal_, store_, sink_, clock_, options_);
  v1::LogTailRequest request = Request(1, "hello");
  request.set_since_unix_micros(1700000000000200);
  tailer.Start(request);
  ASSERT_TRUE(sink_.WaitFor(Done));
  EXPECT_THAT(Messages(sink_.Messages()), ElementsAre("after"));
}

}  // namespace
}  // namespace pyservice::agent
