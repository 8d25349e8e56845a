#include "agent/daemon/app_workers.h"

#include <utility>

namespace pyservice::agent {

AppWorkers::~AppWorkers() { Stop(); }

AppWorkers::Worker& AppWorkers::WorkerFor(const std::string& app) {
  std::unique_ptr<Worker>& worker = workers_[app];
  if (worker == nullptr) {
    worker = std::make_unique<Worker>();
    Worker* raw = worker.get();
    worker->thread = std::thread([this, raw] { Loop(raw); });
  }
  return *worker;
}

std::optional<Job> AppWorkers::Submit(Job job) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return job;
  Worker& worker = WorkerFor(job.app);
  std::optional<Job> replaced = std::move(worker.queued);
  worker.queued = std::move(job);
  return replaced;
}

bool AppWorkers::SubmitIfIdle(Job job) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  if (auto it = workers_.find(job.app);
      it != workers_.end() && (it->second->running || it->second->queued)) {
    return false;
  }
  WorkerFor(job.app).queued = std::move(job);
  return true;
}

AppWorkers::Cancellation AppWorkers::Cancel(uint64_t deploy_id) {
  absl::MutexLock lock(&mu_);
  Cancellation result;
  for (auto& [app, worker] : workers_) {
    // The agent's own drift checks carry no deploy id to cancel by.
    if (worker->queued && worker->queued->kind != Job::Kind::kCheckDrift &&
        worker->queued->deploy_id == deploy_id) {
      result.where = Cancellation::Where::kQueued;
      result.job = std::move(worker->queued);
      worker->queued.reset();
      return result;
    }
    if (worker->running && worker->running->kind != Job::Kind::kCheckDrift &&
        worker->running->deploy_id == deploy_id) {
      worker->canceled->store(true);
      result.where = Cancellation::Where::kRunning;
      return result;
    }
  }
  return result;
}

std::vector<Job> AppWorkers::Stop() {
  std::vector<Job> dropped;
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (auto& [app, worker] : workers_) {
      if (worker->queued) dropped.push_back(*std::move(worker->queued));
      worker->queued.reset();
      if (worker->running) worker->canceled->store(true);
      if (worker->thread.joinable()) threads.push_back(std::move(worker->thread));
    }
  }
  for (std::thread& thread : threads) thread.join();
  return dropped;
}

bool AppWorkers::Idle() const {
  for (const auto& [app, worker] : workers_) {
    if (worker->running || worker->queued) return false;
  }
  return true;
}

void AppWorkers::WaitIdle() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &AppWorkers::Idle));
}

void AppWorkers::Loop(Worker* worker) {
  absl::MutexLock lock(&mu_);
  while (true) {
    auto has_work = [this, worker]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || worker->queued.has_value();
    };
    mu_.Await(absl::Condition(&has_work));
    if (stopping_) return;
    worker->running = std::move(worker->queued);
    worker->queued.reset();
    worker->canceled = std::make_shared<std::atomic<bool>>(false);
    const Job job = *worker->running;
    const std::shared_ptr<std::atomic<bool>> canceled = worker->canceled;
    mu_.Unlock();
    executor_.Execute(job, *canceled);
    mu_.Lock();
    worker->running.reset();
  }
}

}  // namespace pyservice::agent
