#include "agent/logs/log_tailer.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/api/agent_message_limits.h"
#include "common/spec/validators.h"
#include "common/status/status_macros.h"
#include "spdlog/spdlog.h"

namespace pyservice::agent {

absl::StatusOr<std::vector<std::string>> AppUnitNames(const StateStore& store,
                                                      const std::string& app) {
  ASSIGN_OR_RETURN(std::optional<v1::AppState> state, store.Load(app));
  std::vector<std::string> units;
  if (state.has_value()) {
    for (const v1::WrittenFile& file : state->files()) {
      if (file.kind() == "unit") {
        units.push_back(std::filesystem::path(file.path()).filename().string());
      }
    }
  }
  if (units.empty()) {
    return absl::NotFoundError(absl::StrCat("app ", app, " has no units on this host"));
  }
  return units;
}

LogTailer::LogTailer(JournalReader& journal, const StateStore& store, MessageSink& sink,
                     const Clock& clock, LogTailerOptions options)
    : journal_(journal), store_(store), sink_(sink), clock_(clock), options_(options) {}

LogTailer::~LogTailer() { StopAll(); }

void LogTailer::Start(const v1::LogTailRequest& request) {
  const uint64_t id = request.tail_id();
  // The name becomes a path in the state dir: no "..", no "/".
  if (absl::Status valid = spec::ValidateName(request.app()); !valid.ok()) {
    SendEntries(id, {}, true, absl::StrCat("invalid request: app: ", valid.message()));
    return;
  }
  // The units come from the agent's own state, never from the request.
  absl::StatusOr<std::vector<std::string>> units = AppUnitNames(store_, request.app());
  if (!units.ok()) {
    SendEntries(id, {}, true, std::string(units.status().message()));
    return;
  }
  absl::MutexLock lock(&mu_);
  ReapLocked();
  if (tails_.contains(id)) return;  // asked twice: the first one runs
  if (tails_.size() >= options_.max_tails) {
    SendEntries(id, {}, true,
                absl::StrCat("this host already runs ", tails_.size(),
                             " log tails, the most it serves at once"));
    return;
  }
  auto tail = std::make_unique<Tail>();
  Tail& started = *tail;
  tails_[id] = std::move(tail);
  started.thread = std::thread([this, id, request, units = *std::move(units), &started] {
    Run(id, request, units, started);
  });
}

void LogTailer::Stop(uint64_t tail_id) {
  std::unique_ptr<Tail> tail;
  {
    absl::MutexLock lock(&mu_);
    const auto it = tails_.find(tail_id);
    if (it == tails_.end()) return;
    tail = std::move(it->second);
    tails_.erase(it);
  }
  {
    absl::MutexLock lock(&tail->mu);
    tail->stop = true;
  }
  tail->thread.join();
}

void LogTailer::StopAll() {
  std::vector<uint64_t> ids;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, tail] : tails_) ids.push_back(id);
  }
  for (uint64_t id : ids) Stop(id);
}

size_t LogTailer::Running() {
  absl::MutexLock lock(&mu_);
  ReapLocked();
  return tails_.size();
}

void LogTailer::ReapLocked() {
  for (auto it = tails_.begin(); it != tails_.end();) {
    bool finished = false;
    {
      absl::MutexLock lock(&it->second->mu);
      finished = it->second->finished;
    }
    if (finished) {
      it->second->thread.join();
      it = tails_.erase(it);
    } else {
      ++it;
    }
  }
}

void LogTailer::Run(uint64_t tail_id, v1::LogTailRequest request, std::vector<std::string> units,
                    Tail& tail) {
  const auto stopped = [&tail] {
    absl::MutexLock lock(&tail.mu);
    return tail.stop;
  };
  JournalQuery query;
  query.units = std::move(units);
  query.lines = request.lines() == 0 ? options_.default_lines
                                     : std::min(request.lines(), options_.max_lines);
  query.since_unix_micros = request.since_unix_micros();
  // Where a follow goes on from when the first read finds nothing (then
  // there is no cursor to go on from).
  const int64_t started = absl::ToUnixMicros(clock_.Now());
  // journalctl's --since has whole seconds: the rest is cut here.
  const auto read = [&](int64_t since) -> absl::StatusOr<JournalBatch> {
    ASSIGN_OR_RETURN(JournalBatch batch, journal_.Read(query, stopped));
    std::erase_if(batch.entries, [since](const v1::JournalEntry& entry) {
      return entry.time_unix_micros() < since;
    });
    return batch;
  };
  absl::StatusOr<JournalBatch> batch = read(query.since_unix_micros);
  while (!stopped()) {
    if (!batch.ok()) {
      SendEntries(tail_id, {}, true, std::string(batch.status().message()));
      break;
    }
    SendEntries(tail_id, std::move(batch->entries), !request.follow(), "");
    if (!request.follow()) break;
    {
      absl::MutexLock lock(&tail.mu);
      if (tail.mu.AwaitWithTimeout(absl::Condition(&tail.stop), options_.poll_interval)) break;
    }
    query.lines = options_.lines_per_poll;
    int64_t since = query.since_unix_micros;
    if (!batch->cursor.empty()) {
      query.after_cursor = batch->cursor;
    } else {
      since = std::max(since, started);
      query.since_unix_micros = since;
    }
    batch = read(since);
  }
  absl::MutexLock lock(&tail.mu);
  tail.finished = true;
}

void LogTailer::SendEntries(uint64_t tail_id, std::vector<v1::JournalEntry> entries, bool done,
                            const std::string& error) {
  if (entries.empty() && !done) return;
  size_t next = 0;
  do {
    v1::AgentMessage message;
    v1::LogChunk& chunk = *message.mutable_logs();
    chunk.set_tail_id(tail_id);
    const size_t end = std::min(entries.size(), next + AgentMessageLimits::kLogEntries);
    for (; next < end; ++next) *chunk.add_entries() = std::move(entries[next]);
    if (next == entries.size()) {
      chunk.set_done(done);
      chunk.set_error(error);
    }
    FitAgentMessage(message);
    sink_.Send(std::move(message));
  } while (next < entries.size());
}

}  // namespace pyservice::agent
