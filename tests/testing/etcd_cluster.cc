#include "tests/testing/etcd_cluster.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "controller/etcd/etcd_client.h"

namespace pyservice::testing {

namespace {

constexpr char kEtcdBinary[] = "/usr/bin/etcd";

// The low end of the kernel's ephemeral range (outgoing connections' source
// ports and bind(0) come from there).
int EphemeralPortsStart() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0;
  if (range >> low && low > 10000) return low;
  return 32768;
}

bool BindsOnLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return bound;
}

}  // namespace

// Below the ephemeral range: a port the kernel handed out with bind(0) was
// once taken, between the pick and etcd's bind, by an outgoing connection of
// an etcd member started just before (its source port), and the cluster
// never formed. Random, checked free, and never the same twice in a process.
absl::StatusOr<int> UnusedLoopbackPort() {
  static absl::Mutex mu(absl::kConstInit);
  static absl::flat_hash_set<int>* given = new absl::flat_hash_set<int>();
  static std::mt19937* random = new std::mt19937(std::random_device()());
  const int end = EphemeralPortsStart();
  absl::MutexLock lock(&mu);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = std::uniform_int_distribution<int>(10000, end - 1)(*random);
    if (given->contains(port) || !BindsOnLoopback(port)) continue;
    given->insert(port);
    return port;
  }
  return absl::InternalError(
      absl::StrCat("no free loopback port between 10000 and ", end, " after 1000 tries"));
}

namespace {

// Waits until `endpoint` answers a linearizable read (which needs a leader
// and a quorum).
absl::Status WaitUntilServing(const std::string& endpoint, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last;
  while (absl::Now() < deadline) {
    // A new client (channel) per try: a channel that found the port closed
    // waits out gRPC's reconnect backoff, long after the member listens.
    absl::StatusOr<std::unique_ptr<controller::etcd::EtcdClient>> client =
        controller::etcd::EtcdClient::Create({endpoint}, absl::Seconds(2));
    if (!client.ok()) return client.status();
    etcdserverpb::RangeRequest request;
    request.set_key("/");
    last = (*client)->Range(request).status();
    if (last.ok()) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("etcd member ", endpoint, " did not serve within ",
                   absl::FormatDuration(timeout), ": ", last.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<EtcdCluster>> EtcdCluster::Start(const std::string& dir) {
  if (access(kEtcdBinary, X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(kEtcdBinary, " is not installed: the etcd tests need a real etcd "
                                  "(apt-get install etcd-server etcd-client; "
                                  "deploy/install-deps.sh installs it)"));
  }
  std::unique_ptr<EtcdCluster> cluster(new EtcdCluster());
  cluster->dir_ = dir;
  std::vector<std::string> initial;
  for (int i = 0; i < kMembers; ++i) {
    absl::StatusOr<int> client_port = UnusedLoopbackPort();
    absl::StatusOr<int> peer_port = UnusedLoopbackPort();
    if (!client_port.ok()) return client_port.status();
    if (!peer_port.ok()) return peer_port.status();
    cluster->endpoints_.push_back(absl::StrCat("127.0.0.1:", *client_port));
    cluster->peer_urls_.push_back(absl::StrCat("http://127.0.0.1:", *peer_port));
    initial.push_back(absl::StrCat("m", i, "=", cluster->peer_urls_.back()));
  }
  cluster->initial_cluster_ = absl::StrJoin(initial, ",");
  cluster->members_.resize(kMembers);
  for (int i = 0; i < kMembers; ++i) {
    if (absl::Status started = cluster->StartMember(i, /*initial=*/true); !started.ok()) {
      return started;
    }
  }
  for (const std::string& endpoint : cluster->endpoints_) {
    if (absl::Status serving = WaitUntilServing(endpoint, absl::Seconds(60)); !serving.ok()) {
      return absl::Status(serving.code(),
                          absl::StrCat(serving.message(), "\n", cluster->Logs()));
    }
  }
  return cluster;
}

absl::Status EtcdCluster::StartMember(int index, bool initial) {
  const std::string name = absl::StrCat("m", index);
  const std::string client_url = absl::StrCat("http://", endpoints_[index]);
  ChildProcessOptions options;
  options.argv = {kEtcdBinary,
                  "--name", name,
                  "--data-dir", absl::StrCat(dir_, "/", name, ".etcd"),
                  "--listen-client-urls", client_url,
                  "--advertise-client-urls", client_url,
                  "--listen-peer-urls", peer_urls_[index],
                  "--initial-advertise-peer-urls", peer_urls_[index],
                  "--initial-cluster", initial_cluster_,
                  "--initial-cluster-state", initial ? "new" : "existing",
                  "--initial-cluster-token", absl::StrCat("pyservice-test-", getpid()),
                  // Loopback: short heartbeats make a leader change quick.
                  "--heartbeat-interval", "100",
                  "--election-timeout", "1000",
                  "--logger", "zap",
                  "--log-level", "warn"};
  options.output_dir = dir_;
  options.name = name;
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(options);
  if (!child.ok()) return child.status();
  members_[index] = *std::move(child);
  return absl::OkStatus();
}

std::string EtcdCluster::Url() const { return absl::StrCat("etcd://", absl::StrJoin(endpoints_, ",")); }

void EtcdCluster::Kill(int index) { members_[index].reset(); }

absl::Status EtcdCluster::Restart(int index) {
  if (absl::Status started = StartMember(index, /*initial=*/false); !started.ok()) {
    return started;
  }
  return WaitUntilServing(endpoints_[index], absl::Seconds(60));
}

std::string EtcdCluster::Logs() const {
  std::string logs;
  for (int i = 0; i < kMembers; ++i) {
    if (members_[i] == nullptr) continue;
    absl::StrAppend(&logs, "--- etcd m", i, " ---\n", members_[i]->ReadStderr());
  }
  return logs;
}

void EtcdClusterTest::SetUp() {
  absl::StatusOr<std::unique_ptr<EtcdCluster>> cluster = EtcdCluster::Start(dir_.path());
  ASSERT_TRUE(cluster.ok()) << "cannot start the etcd cluster: " << cluster.status();
  cluster_ = *std::move(cluster);
}

std::unique_ptr<controller::etcd::EtcdClient> EtcdClusterTest::NewClient(
    absl::Duration call_timeout) {
  absl::StatusOr<std::unique_ptr<controller::etcd::EtcdClient>> client =
      controller::etcd::EtcdClient::Create(cluster_->endpoints(), call_timeout);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

}  // namespace pyservice::testing
