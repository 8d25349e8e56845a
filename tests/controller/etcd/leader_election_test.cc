// Leader election on a real 3-node etcd cluster: one leads, the other
// follows naming it and takes over when it resigns; a leader cut off from
// the quorum gives its leadership up by itself.
#include "controller/etcd/leader_election.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::controller::etcd {
namespace {

using ::testing::HasSubstr;

// Far above what any step takes; the test never measures durations.
constexpr absl::Duration kPatience = absl::Seconds(60);

class LeaderElectionTest : public testing::EtcdClusterTest {
 protected:
  std::unique_ptr<EtcdClient> Client() { return NewClient(absl::Seconds(1)); }

  LeaderElectionOptions Options(const std::string& identity) {
    LeaderElectionOptions options;
    options.key = "/pyservice/leader";
    options.identity = identity;
    options.ttl = absl::Seconds(2);
    options.poll_interval = absl::Milliseconds(100);
    return options;
  }

};

TEST_F(LeaderElectionTest, OneLeadsTheOtherFollowsNamingItAndTakesOverWhenItResigns) {
  std::unique_ptr<EtcdClient> client_a = Client();
  std::unique_ptr<EtcdClient> client_b = Client();
  LeaderElection a(*client_a, Options("a:7070"));
  ASSERT_TRUE(a.Campaign([](const std::string&) {}, [] { return false; }).ok());
  EXPECT_GT(a.create_revision(), 0);

  absl::Mutex mu;
  std::vector<std::string> seen;
  std::atomic<bool> b_leads = false;
  LeaderElection b(*client_b, Options("b:7070"));
  std::thread campaign([&] {
    const absl::Status status = b.Campaign(
        [&](const std::string& leader) {
          absl::MutexLock lock(&mu);
          seen.push_back(leader);
        },
        [] { return false; });
    EXPECT_TRUE(status.ok()) << status;
    b_leads = true;
  });
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                        +[](std::vector<std::string>* s) { return !s->empty(); },
                                        &seen),
                                    kPatience));
    EXPECT_EQ(seen.front(), "a:7070");
  }
  EXPECT_FALSE(b_leads);
  a.Resign();
  campaign.join();
  EXPECT_TRUE(b_leads);
  EXPECT_GT(b.create_revision(), a.create_revision());
}

TEST_F(LeaderElectionTest, ALeaderCutOffFromTheQuorumGivesUpLeadership) {
  std::unique_ptr<EtcdClient> client = Client();
  LeaderElection leader(*client, Options("a:7070"));
  ASSERT_TRUE(leader.Campaign([](const std::string&) {}, [] { return false; }).ok());
  absl::Notification lost;
  std::string why;
  leader.KeepLeading([&](const std::string& reason) {
    why = reason;
    lost.Notify();
  });
  // Two of three members gone: no renewal can succeed, and the lease will
  // expire in etcd once the quorum is back.
  cluster_->Kill(1);
  cluster_->Kill(2);
  ASSERT_TRUE(lost.WaitForNotificationWithTimeout(kPatience));
  EXPECT_THAT(why, HasSubstr("no lease renewal succeeded"));
}

}  // namespace
}  // namespace pyservice::controller::etcd
