#include "agent/daemon/drift_scheduler.h"

#include <string>
#include <vector>

#include "spdlog/spdlog.h"

namespace pyservice::agent {

DriftScheduler::~DriftScheduler() { Stop(); }

void DriftScheduler::Start() {
  if (interval_ <= absl::ZeroDuration()) return;
  absl::MutexLock lock(&mu_);
  if (stopping_ || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void DriftScheduler::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

int DriftScheduler::CheckAll() {
  absl::StatusOr<std::vector<std::string>> apps = store_.ListApps();
  if (!apps.ok()) {
    spdlog::warn("drift check: cannot list the apps of the state dir: {}",
                 std::string(apps.status().message()));
    return 0;
  }
  int queued = 0;
  for (const std::string& app : *apps) {
    Job job;
    job.kind = Job::Kind::kCheckDrift;
    job.app = app;
    if (workers_.SubmitIfIdle(std::move(job))) ++queued;
  }
  return queued;
}

void DriftScheduler::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_)) return;
    }
    CheckAll();
  }
}

}  // namespace pyservice::agent
