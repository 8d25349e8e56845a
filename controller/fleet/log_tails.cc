#include "controller/fleet/log_tails.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace pyservice::controller::fleet {
namespace {

// "2025-01-31T12:00:00.123456Z": log lines are ordered by it.
std::string FormatMicros(int64_t micros) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::FromUnixMicros(micros),
                          absl::UTCTimeZone());
}

}  // namespace

LogStream::LogStream(std::set<std::string> hosts, size_t max_entries)
    : max_entries_(max_entries), running_(std::move(hosts)) {}

void LogStream::Add(const std::string& host, const v1::LogChunk& chunk) {
  absl::MutexLock lock(&mu_);
  for (const v1::JournalEntry& entry : chunk.entries()) {
    if (entries_.size() >= max_entries_) {
      ++dropped_;
      continue;
    }
    v1::LogEntry& added = entries_.emplace_back();
    added.set_host(host);
    added.set_unit(entry.unit());
    added.set_time(FormatMicros(entry.time_unix_micros()));
    added.set_priority(entry.priority());
    added.set_message(entry.message());
  }
}

void LogStream::HostEnded(const std::string& host, const std::string& why) {
  absl::MutexLock lock(&mu_);
  if (running_.erase(host) == 0) return;
  if (!why.empty()) host_errors_.push_back(absl::StrCat(host, ": ", why));
}

void LogStream::Shutdown() {
  absl::MutexLock lock(&mu_);
  shut_down_ = true;
}

LogStream::Taken LogStream::Take(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !entries_.empty() || !host_errors_.empty() || dropped_ > 0 || running_.empty() ||
           shut_down_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  Taken taken;
  for (v1::LogEntry& entry : entries_) *taken.response.add_entries() = std::move(entry);
  entries_.clear();
  for (std::string& error : host_errors_) taken.response.add_host_errors(std::move(error));
  host_errors_.clear();
  taken.response.set_dropped(dropped_);
  dropped_ = 0;
  taken.finished = running_.empty();
  taken.shut_down = shut_down_;
  return taken;
}

LogTails::Opened LogTails::Open(const std::set<std::string>& hosts, size_t max_entries) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return {};
  const uint64_t id = next_id_++;
  auto stream = std::make_shared<LogStream>(hosts, max_entries);
  tails_[id] = Tail{hosts, stream};
  return {id, stream};
}

std::vector<std::string> LogTails::Close(uint64_t id) {
  absl::MutexLock lock(&mu_);
  const auto it = tails_.find(id);
  if (it == tails_.end()) return {};
  std::vector<std::string> running(it->second.running.begin(), it->second.running.end());
  tails_.erase(it);
  return running;
}

void LogTails::Deliver(const std::string& host, const v1::LogChunk& chunk) {
  std::shared_ptr<LogStream> stream;
  {
    absl::MutexLock lock(&mu_);
    const auto it = tails_.find(chunk.tail_id());
    if (it == tails_.end() || !it->second.running.contains(host)) return;
    stream = it->second.stream;
    if (chunk.done()) it->second.running.erase(host);
  }
  stream->Add(host, chunk);
  if (chunk.done()) stream->HostEnded(host, chunk.error());
}

void LogTails::HostGone(const std::string& host) {
  std::vector<std::shared_ptr<LogStream>> streams;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, tail] : tails_) {
      if (tail.running.erase(host) > 0) streams.push_back(tail.stream);
    }
  }
  for (const auto& stream : streams) stream->HostEnded(host, "the host disconnected");
}

void LogTails::Shutdown() {
  std::vector<std::shared_ptr<LogStream>> streams;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    for (auto& [id, tail] : tails_) streams.push_back(tail.stream);
  }
  for (const auto& stream : streams) stream->Shutdown();
}

}  // namespace pyservice::controller::fleet
