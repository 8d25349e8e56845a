// Reading an app's journal: the entries of a given set of units, through
// `journalctl -o json` as a child process (the agent links no libsystemd
// of its own; sdbus-c++ brings only the D-Bus part). An interface so the
// log tailer (log_tailer.h) is tested without a journal.
#ifndef PYSERVICE_AGENT_LOGS_JOURNAL_READER_H_
#define PYSERVICE_AGENT_LOGS_JOURNAL_READER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/host/process_runner.h"
#include "pyservice/v1/agent.pb.h"

namespace pyservice::agent {

struct JournalQuery {
  // Unit names ("hello-web.service"); never empty (an empty list would
  // match the whole journal).
  std::vector<std::string> units;
  // At most this many entries: the last ones when `after_cursor` is
  // empty, else the first ones after it.
  uint32_t lines = 100;
  // Only entries from this time on (microseconds since the epoch); 0: any.
  int64_t since_unix_micros = 0;
  // Only entries after this journal cursor (a previous batch's).
  std::string after_cursor;
};

struct JournalBatch {
  // Oldest first.
  std::vector<v1::JournalEntry> entries;
  // The cursor of the last entry read; the query's when none was.
  std::string cursor;
};

class JournalReader {
 public:
  virtual ~JournalReader() = default;
  // The entries `query` selects. `canceled` is asked while reading; once it
  // returns true the read ends (ABORTED).
  virtual absl::StatusOr<JournalBatch> Read(const JournalQuery& query,
                                            const std::function<bool()>& canceled) = 0;
};

// journalctl's arguments for `query`: one -u per unit, never a shell.
std::vector<std::string> JournalctlArgv(const JournalQuery& query);

// Parses `journalctl -o json` output (one JSON object a line). A message
// journald stored as bytes (a JSON array of numbers) is decoded; invalid
// UTF-8 becomes U+FFFD. `query_cursor` is the batch's cursor when the
// output holds no entry. Lines that are not JSON objects are skipped.
// An entry's unit is the one of `units` it was logged by (_SYSTEMD_UNIT)
// or about (UNIT: systemd's own "Started ..." lines come from init.scope).
JournalBatch ParseJournalJson(absl::string_view output, absl::string_view query_cursor,
                              const std::vector<std::string>& units);

// The real reader: journalctl through `processes`.
class JournalctlReader final : public JournalReader {
 public:
  explicit JournalctlReader(ProcessRunner& processes) : processes_(processes) {}
  absl::StatusOr<JournalBatch> Read(const JournalQuery& query,
                                    const std::function<bool()>& canceled) override;

 private:
  ProcessRunner& processes_;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_LOGS_JOURNAL_READER_H_
