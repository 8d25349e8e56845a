// The agent's side of `pyctl logs`: each LogTailRequest from the controller
// becomes a tail that reads the journal of the app's units and sends the
// entries back as LogChunks, until it is done (not following), stopped
// (LogTailStop), or the stream it was asked on ends.
//
// Host safety: a tail reads only the units the agent wrote for the app (the
// "unit" files of its state), never a unit the request names: the
// controller cannot make the agent read another service's journal.
//
// Bounds, so a chatty app cannot flood the agent's stream (whose messages
// the controller rate-limits, fleet.h): at most kLogEntries entries a
// chunk, each message cut to kLogMessage (FitAgentMessage); at most
// `max_lines` entries for the first read; while following, one read every
// `poll_interval` of at most `lines_per_poll` entries (a backlog is read on
// the next polls, not skipped); at most `max_tails` tails at once.
//
// Threads: one per tail; Start and Stop are called from the session's
// reader thread and never wait longer than it takes a journalctl run to be
// canceled.
#ifndef PYSERVICE_AGENT_LOGS_LOG_TAILER_H_
#define PYSERVICE_AGENT_LOGS_LOG_TAILER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/daemon/message_sink.h"
#include "agent/logs/journal_reader.h"
#include "agent/state/state_store.h"
#include "common/time/clock.h"
#include "pyservice/v1/agent.pb.h"

namespace pyservice::agent {

struct LogTailerOptions {
  uint32_t default_lines = 100;
  uint32_t max_lines = 10000;
  uint32_t lines_per_poll = 400;
  absl::Duration poll_interval = absl::Seconds(1);
  size_t max_tails = 8;
};

// The unit names the agent wrote for `app` (from its state); NOT_FOUND
// when the app is not deployed here.
absl::StatusOr<std::vector<std::string>> AppUnitNames(const StateStore& store,
                                                      const std::string& app);

class LogTailer {
 public:
  // All must outlive the tailer.
  // `clock` dates a following tail's start, from which it reads when the
  // journal had no entry yet.
  LogTailer(JournalReader& journal, const StateStore& store, MessageSink& sink,
            const Clock& clock, LogTailerOptions options = {});
  LogTailer(const LogTailer&) = delete;
  LogTailer& operator=(const LogTailer&) = delete;
  // StopAll().
  ~LogTailer();

  // Starts the tail; refusals (unknown app, too many tails) are answered
  // with a done LogChunk carrying the error.
  void Start(const v1::LogTailRequest& request) ABSL_LOCKS_EXCLUDED(mu_);
  // Stops one tail (nothing when it is not running) and waits for it.
  void Stop(uint64_t tail_id) ABSL_LOCKS_EXCLUDED(mu_);
  // Stops every tail: the stream they were asked on is gone.
  void StopAll() ABSL_LOCKS_EXCLUDED(mu_);
  // Tails running now (tests).
  size_t Running() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Tail {
    absl::Mutex mu;
    bool stop ABSL_GUARDED_BY(mu) = false;
    bool finished ABSL_GUARDED_BY(mu) = false;
    std::thread thread;
  };

  void Run(uint64_t tail_id, v1::LogTailRequest request, std::vector<std::string> units,
           Tail& tail);
  // Sends `entries` in chunks of at most kLogEntries; `done`/`error` go on
  // the last one.
  void SendEntries(uint64_t tail_id, std::vector<v1::JournalEntry> entries, bool done,
                   const std::string& error);
  // Joins and forgets tails whose thread has ended.
  void ReapLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  JournalReader& journal_;
  const StateStore& store_;
  MessageSink& sink_;
  const Clock& clock_;
  const LogTailerOptions options_;

  // Lock order: mu_ before Tail::mu.
  absl::Mutex mu_;
  std::map<uint64_t, std::unique_ptr<Tail>> tails_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_LOGS_LOG_TAILER_H_
