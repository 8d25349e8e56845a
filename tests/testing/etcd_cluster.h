// A real etcd cluster of three members on loopback for tests: each member
// its own process (tests/testing/child_process.h), ports, and data dir
// under a temp dir, torn down with the object. Starting fails loudly, with
// the reason, when etcd is not installed: a test that needs etcd never
// passes without it.
#ifndef PYSERVICE_TESTS_TESTING_ETCD_CLUSTER_H_
#define PYSERVICE_TESTS_TESTING_ETCD_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/etcd/etcd_client.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::testing {

// A free loopback TCP port below the kernel's ephemeral range, never given
// twice in a process, for a server the test starts next with a fixed port
// (etcd members; controllers whose address must stay the same across a
// restart).
absl::StatusOr<int> UnusedLoopbackPort();

class EtcdCluster {
 public:
  static constexpr int kMembers = 3;

  // Starts the members under `dir` (an existing directory) and waits until
  // every member serves a linearizable read.
  static absl::StatusOr<std::unique_ptr<EtcdCluster>> Start(const std::string& dir);

  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // 127.0.0.1:PORT of each member's client URL.
  const std::vector<std::string>& endpoints() const { return endpoints_; }
  // etcd://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
  std::string Url() const;

  // SIGKILLs member `index` (its data dir stays); Restart starts it again.
  void Kill(int index);
  absl::Status Restart(int index);

  // The members' logs, for a failure message.
  std::string Logs() const;

 private:
  EtcdCluster() = default;
  absl::Status StartMember(int index, bool initial);

  std::string dir_;
  std::vector<std::string> endpoints_;
  std::vector<std::string> peer_urls_;
  std::string initial_cluster_;
  std::vector<std::unique_ptr<ChildProcess>> members_;
};

// A fixture with a cluster of its own per test, started in SetUp (which
// fails the test saying why when it cannot start: subclasses call it with
// ASSERT_NO_FATAL_FAILURE first), in dir_, which subclasses may also use.
class EtcdClusterTest : public ::testing::Test {
 protected:
  void SetUp() override;
  // A client of the cluster; null after a test failure saying why.
  std::unique_ptr<controller::etcd::EtcdClient> NewClient(
      absl::Duration call_timeout = absl::Seconds(5));

  TempDir dir_;
  std::unique_ptr<EtcdCluster> cluster_;
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_ETCD_CLUSTER_H_
