// The controller's side of `pyctl logs`: which TailLogs call asked which
// hosts for which tail, and the bounded buffer each call reads from.
//
// A TailLogs call opens a tail (Open): the fleet sends a LogTailRequest to
// each host and routes the LogChunks that come back here (Deliver) into
// the call's LogStream. A chunk counts only from a host the tail asked:
// another agent cannot write into someone else's tail. When the call ends
// it closes the tail (Close), and the fleet tells the hosts still tailing
// to stop.
//
// The entries are app output: nothing here logs them.
#ifndef PYSERVICE_CONTROLLER_FLEET_LOG_TAILS_H_
#define PYSERVICE_CONTROLLER_FLEET_LOG_TAILS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pyservice/v1/agent.pb.h"
#include "pyservice/v1/controller.pb.h"

namespace pyservice::controller::fleet {

// What one TailLogs call has received and not yet sent. Filled from gRPC
// reactions (never blocks), read by the call's thread.
class LogStream {
 public:
  // At most `max_entries` wait; beyond that, new ones are counted as
  // dropped (the reader is slower than the hosts write).
  LogStream(std::set<std::string> hosts, size_t max_entries);

  void Add(const std::string& host, const v1::LogChunk& chunk) ABSL_LOCKS_EXCLUDED(mu_);
  // The host's tail is over: `why` is empty when it ended normally.
  void HostEnded(const std::string& host, const std::string& why) ABSL_LOCKS_EXCLUDED(mu_);
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

  struct Taken {
    v1::TailLogsResponse response;
    // Every host's tail is over (nothing more will come).
    bool finished = false;
    // The controller is shutting down.
    bool shut_down = false;
  };
  // What arrived, waiting up to `timeout` for something to.
  Taken Take(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const size_t max_entries_;
  absl::Mutex mu_;
  std::set<std::string> running_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::LogEntry> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> host_errors_ ABSL_GUARDED_BY(mu_);
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

class LogTails {
 public:
  struct Opened {
    uint64_t id = 0;
    std::shared_ptr<LogStream> stream;
  };
  // A new tail on `hosts`; nothing once Shutdown() ran (stream null).
  Opened Open(const std::set<std::string>& hosts, size_t max_entries) ABSL_LOCKS_EXCLUDED(mu_);
  // Forgets the tail; returns the hosts still tailing (to be told to stop).
  std::vector<std::string> Close(uint64_t id) ABSL_LOCKS_EXCLUDED(mu_);
  // A chunk from `host`; ignored unless its tail asked that host.
  void Deliver(const std::string& host, const v1::LogChunk& chunk) ABSL_LOCKS_EXCLUDED(mu_);
  // The host's stream ended: its tails are over.
  void HostGone(const std::string& host) ABSL_LOCKS_EXCLUDED(mu_);
  // Ends every tail's stream and refuses new ones.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Tail {
    std::set<std::string> running;
    std::shared_ptr<LogStream> stream;
  };
  // A leaf lock: streams are called after releasing it.
  absl::Mutex mu_;
  std::map<uint64_t, Tail> tails_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_LOG_TAILS_H_
