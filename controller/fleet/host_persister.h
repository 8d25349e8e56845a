// Writes host records to the store from its own thread, in batches, so
// agent reactions never wait on SQLite (a durable commit is an fsync).
//
// Enqueue() only records the host's latest record; the writer thread takes
// everything pending and writes it as one Store::UpsertHosts transaction.
// A thousand hellos after a controller restart are therefore a handful of
// commits, not a thousand. How often a host's last_seen is written at all is
// the registry's rate limit (FleetOptions::last_seen_write_interval).
#ifndef PYSERVICE_CONTROLLER_FLEET_HOST_PERSISTER_H_
#define PYSERVICE_CONTROLLER_FLEET_HOST_PERSISTER_H_

#include <cstdint>
#include <map>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/store/store.h"

namespace pyservice::controller::fleet {

class HostPersister {
 public:
  // `store` must outlive the persister. After a failed write the batch is
  // kept (newer records of the same hosts win) and retried after
  // `retry_delay`.
  explicit HostPersister(Store& store, absl::Duration retry_delay = absl::Seconds(1));
  HostPersister(const HostPersister&) = delete;
  HostPersister& operator=(const HostPersister&) = delete;
  // Stop().
  ~HostPersister();

  // Queues `host` to be written; a newer record of the same host replaces a
  // queued one. Never blocks on the store.
  void Enqueue(StoredHost host);

  // Blocks until every record queued before the call has been written (or
  // Stop() was called). For tests and shutdown.
  void Flush();

  // Writes what is pending (one last attempt) and stops the thread.
  void Stop();

 private:
  void Run();

  Store& store_;
  const absl::Duration retry_delay_;
  absl::Mutex mu_;
  std::map<std::string, StoredHost> pending_ ABSL_GUARDED_BY(mu_);
  // Records enqueued / written so far; Flush waits for written_ to catch up.
  uint64_t enqueued_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t written_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_HOST_PERSISTER_H_
