#include "controller/fleet/host_persister.h"

#include <utility>
#include <vector>

#include "spdlog/spdlog.h"

namespace pyservice::controller::fleet {

HostPersister::HostPersister(Store& store, absl::Duration retry_delay)
    : store_(store), retry_delay_(retry_delay), thread_([this] { Run(); }) {}

HostPersister::~HostPersister() { Stop(); }

void HostPersister::Enqueue(StoredHost host) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  std::string name = host.name;
  pending_.insert_or_assign(std::move(name), std::move(host));
  ++enqueued_;
}

void HostPersister::Flush() {
  absl::MutexLock lock(&mu_);
  const uint64_t target = enqueued_;
  auto caught_up = [this, target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return written_ >= target || stopping_;
  };
  mu_.Await(absl::Condition(&caught_up));
}

void HostPersister::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  thread_.join();
}

void HostPersister::Run() {
  while (true) {
    std::map<std::string, StoredHost> batch;
    uint64_t batch_end = 0;
    bool last_round = false;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !pending_.empty() || stopping_;
      };
      mu_.Await(absl::Condition(&has_work));
      last_round = stopping_;
      batch.swap(pending_);
      batch_end = enqueued_;
    }
    std::vector<StoredHost> hosts;
    hosts.reserve(batch.size());
    for (auto& [name, host] : batch) hosts.push_back(std::move(host));
    const absl::Status written = store_.UpsertHosts(hosts);
    absl::MutexLock lock(&mu_);
    if (written.ok()) {
      written_ = batch_end;
    } else {
      spdlog::warn("cannot store {} host record(s): {}", hosts.size(),
                   std::string(written.message()));
      // Put the batch back under anything newer that arrived meanwhile.
      for (StoredHost& host : hosts) {
        std::string name = host.name;
        pending_.try_emplace(std::move(name), std::move(host));
      }
      if (!last_round) {
        mu_.AwaitWithTimeout(absl::Condition(&stopping_), retry_delay_);
      }
    }
    if (last_round) {
      // Pending records that arrived during the last write are dropped: the
      // controller is stopping and agents will say Hello again.
      return;
    }
  }
}

}  // namespace pyservice::controller::fleet
