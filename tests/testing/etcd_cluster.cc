#include "tests/testing/etcd_cluster.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "controller/etcd/etcd_client.h"

namespace pyservice::testing {

namespace {

constexpr char kEtcdBinary[] = "/usr/bin/etcd";

}  // namespace

// Another process could take the port before the test's server binds it;
// on a test machine that loses a start, not a result.
absl::StatusOr<int> UnusedLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    return absl::InternalError("bind to a loopback port failed");
  }
  const int port = ntohs(address.sin_port);
  close(fd);
  return port;
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
