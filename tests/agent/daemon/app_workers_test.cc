// The per-app queueing rules, with an executor whose jobs run until the test
// releases them.
#include "agent/daemon/app_workers.h"

#include <set>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

constexpr absl::Duration kTimeout = absl::Seconds(10);

class GatedExecutor final : public JobExecutor {
 public:
  void Execute(const Job& job, const std::atomic<bool>& canceled) override {
    absl::MutexLock lock(&mu_);
    running_.insert(job.deploy_id);
    started_.push_back(job.deploy_id);
    // Runs until released, or — like the pipeline at a step boundary —
    // until canceled.
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return released_.count(job.deploy_id) > 0 || canceled.load();
    };
    while (!done()) mu_.AwaitWithTimeout(absl::Condition(&done), absl::Milliseconds(5));
    if (canceled.load()) canceled_.push_back(job.deploy_id);
    running_.erase(job.deploy_id);
    finished_.push_back(job.deploy_id);
  }

  void Release(uint64_t id) {
    absl::MutexLock lock(&mu_);
    released_.insert(id);
  }
  // Waits until exactly `ids` run.
  bool WaitRunning(std::set<uint64_t> ids) {
    absl::MutexLock lock(&mu_);
    auto running = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return running_ == ids; };
    return mu_.AwaitWithTimeout(absl::Condition(&running), kTimeout);
  }
  std::vector<uint64_t> started() {
    absl::MutexLock lock(&mu_);
    return started_;
  }
  std::vector<uint64_t> finished() {
    absl::MutexLock lock(&mu_);
    return finished_;
  }
  std::vector<uint64_t> canceled() {
    absl::MutexLock lock(&mu_);
    return canceled_;
  }

 private:
  absl::Mutex mu_;
  std::set<uint64_t> released_ ABSL_GUARDED_BY(mu_);
  std::set<uint64_t> running_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> started_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> finished_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> canceled_ ABSL_GUARDED_BY(mu_);
};

Job MakeJob(const std::string& app, uint64_t id, Job::Kind kind = Job::Kind::kDeploy) {
  Job job;
  job.kind = kind;
  job.app = app;
  job.deploy_id = id;
  return job;
}

TEST(AppWorkersTest, DifferentAppsRunInParallel) {
  GatedExecutor executor;
  AppWorkers workers(executor);
  EXPECT_FALSE(workers.Submit(MakeJob("a", 1)));
  EXPECT_FALSE(workers.Submit(MakeJob("b", 2)));
  ASSERT_TRUE(executor.WaitRunning({1, 2}));
  executor.Release(1);
  executor.Release(2);
  workers.WaitIdle();
  EXPECT_THAT(executor.finished(), UnorderedElementsAre(1, 2));
}

TEST(AppWorkersTest, OneAppRunsOneJobAtATimeInOrder) {
  GatedExecutor executor;
  AppWorkers workers(executor);
  workers.Submit(MakeJob("a", 1));
  ASSERT_TRUE(executor.WaitRunning({1}));
  EXPECT_FALSE(workers.Submit(MakeJob("a", 2))) << "queued behind 1, nothing replaced";
  ASSERT_TRUE(executor.WaitRunning({1})) << "2 waits";
  executor.Release(1);
  ASSERT_TRUE(executor.WaitRunning({2}));
  executor.Release(2);
  workers.WaitIdle();
  EXPECT_THAT(executor.started(), ElementsAre(1, 2));
}

TEST(AppWorkersTest, ANewerRequestReplacesTheQueuedOneNotTheRunningOne) {
  GatedExecutor executor;
  AppWorkers workers(executor);
  workers.Submit(MakeJob("a", 1));
  ASSERT_TRUE(executor.WaitRunning({1}));
  workers.Submit(MakeJob("a", 2));
  std::optional<Job> replaced = workers.Submit(MakeJob("a", 3, Job::Kind::kRemove));
  ASSERT_TRUE(replaced.has_value());
  EXPECT_EQ(replaced->deploy_id, 2u) << "the caller answers for the replaced job";
  EXPECT_TRUE(executor.canceled().empty()) << "the running job goes on";
  executor.Release(1);
  ASSERT_TRUE(executor.WaitRunning({3}));
  executor.Release(3);
  workers.WaitIdle();
  EXPECT_THAT(executor.started(), ElementsAre(1, 3)) << "2 never ran";
}

TEST(AppWorkersTest, CancelOfAQueuedJobDequeuesIt) {
  GatedExecutor executor;
  AppWorkers workers(executor);
  workers.Submit(MakeJob("a", 1));
  ASSERT_TRUE(executor.WaitRunning({1}));
  workers.Submit(MakeJob("a", 2));
  AppWorkers::Cancellation canceled = workers.Cancel(2);
  EXPECT_EQ(canceled.where, AppWorkers::Cancellation::Where::kQueued);
  ASSERT_TRUE(canceled.job.has_value());
  EXPECT_EQ(canceled.job->deploy_id, 2u);
  executor.Release(1);
  workers.WaitIdle();
  EXPECT_THAT(executor.started(), ElementsAre(1));
}

TEST(AppWorkersTest, CancelOfARunningJobSignalsItAndTheQueueGoesOn) {
  GatedExecutor executor;
  AppWorkers workers(executor);
  workers.Submit(MakeJob("a", 1));
  workers.Submit(MakeJob("b", 5));
  ASSERT_TRUE(executor.WaitRunning({1, 5}));
  workers.Submit(MakeJob("a", 2));
  EXPECT_EQ(workers.Cancel(1).where, AppWorkers::Cancellation::Where::kRunning);
  ASSERT_TRUE(executor.WaitRunning({2, 5})) << "1 stopped, 2 started, b untouched";
  EXPECT_THAT(executor.canceled(), ElementsAre(1));
  EXPECT_EQ(workers.Cancel(1).where, AppWorkers::Cancellation::Where::kNotFound)
      << "finished already";
  EXPECT_EQ(workers.Cancel(99).where, AppWorkers::Cancellation::Where::kNotFound);
  executor.Release(2);
  executor.Release(5);
  workers.WaitIdle();
}

TEST(AppWorkersTest, StopCancelsRunningJobsDropsQueuedOnesAndRefusesNewOnes) {
  GatedExecutor executor;
  AppWorkers workers(executor);
  workers.Submit(MakeJob("a", 1));
  ASSERT_TRUE(executor.WaitRunning({1}));
  workers.Submit(MakeJob("a", 2));
  std::vector<Job> dropped = workers.Stop();
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].deploy_id, 2u);
  EXPECT_THAT(executor.canceled(), ElementsAre(1));
  std::optional<Job> refused = workers.Submit(MakeJob("c", 3));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->deploy_id, 3u);
  EXPECT_THAT(executor.started(), ElementsAre(1));
}

TEST(AppWorkersTest, ADriftCheckQueuesOnlyBehindNothing) {
  GatedExecutor executor;
  AppWorkers workers(executor);
  workers.Submit(MakeJob("hello", 1));
  ASSERT_TRUE(executor.WaitRunning({1}));
  EXPECT_FALSE(workers.SubmitIfIdle(MakeJob("hello", 2, Job::Kind::kCheckDrift)))
      << "a deploy runs: it repairs what it touches";
  EXPECT_TRUE(workers.SubmitIfIdle(MakeJob("other", 3, Job::Kind::kCheckDrift)));
  ASSERT_TRUE(executor.WaitRunning({1, 3}));
  executor.Release(1);
  executor.Release(2);  // so a check wrongly queued cannot hang the test
  executor.Release(3);
  workers.WaitIdle();
  EXPECT_THAT(executor.started(), UnorderedElementsAre(1, 3));
}

TEST(AppWorkersTest, ACancelNeverReachesADriftCheck) {
  GatedExecutor executor;
  AppWorkers workers(executor);
  ASSERT_TRUE(workers.SubmitIfIdle(MakeJob("hello", 0, Job::Kind::kCheckDrift)));
  ASSERT_TRUE(executor.WaitRunning({0}));
  EXPECT_EQ(workers.Cancel(0).where, AppWorkers::Cancellation::Where::kNotFound);
  executor.Release(0);
  workers.WaitIdle();
  EXPECT_THAT(executor.canceled(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace pyservice::agent
