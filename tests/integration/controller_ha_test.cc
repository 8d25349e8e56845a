// Three real pyservice-controller processes on one real 3-node etcd
// cluster (`--store etcd://...`): one leads, the others refuse every call
// naming it; killed with SIGKILL, the leader is replaced by a follower,
// which serves what the first one stored.
#include <signal.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/controller_harness.h"
#include "tests/testing/child_process.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/temp_dir.h"

namespace pyservice {
namespace {

using ::pyservice::testing::ChildProcess;
using ::pyservice::testing::EtcdCluster;
using ::pyservice::testing::RunPyctl;
using ::pyservice::testing::StartControllerProcess;
using ::testing::HasSubstr;

constexpr int kControllers = 3;
// Generous for a loaded machine: a takeover needs the 5 s lease to expire.
constexpr absl::Duration kTakeoverTimeout = absl::Seconds(60);

constexpr char kAppYaml[] = R"(name: hello
repo: file:///srv/git/hello.git
tag: v1
services:
  - name: web
    command: "python -m hello web"
)";

class ControllerHaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<EtcdCluster>> cluster = EtcdCluster::Start(dir_.path());
    ASSERT_TRUE(cluster.ok()) << "cannot start the etcd cluster: " << cluster.status();
    cluster_ = *std::move(cluster);
    for (int i = 0; i < kControllers; ++i) {
      absl::StatusOr<int> port = testing::UnusedLoopbackPort();
      ASSERT_TRUE(port.ok()) << port.status();
      addresses_.push_back(absl::StrCat("127.0.0.1:", *port));
    }
    controllers_.resize(kControllers);
    std::ofstream(dir_.Join("app.yaml")) << kAppYaml;
  }

  void TearDown() override {
    if (!HasFailure()) return;
    for (int i = 0; i < kControllers; ++i) {
      if (controllers_[i] != nullptr) {
        std::cerr << "--- controller " << i << " ---\n" << controllers_[i]->ReadStderr();
      }
    }
  }

  std::string AdminSocket(int i) const { return dir_.Join(absl::StrCat("admin-", i, ".sock")); }

  // Controller `i`: its own data dir and admin socket, the one secrets key
  // every controller of a cluster shares.
  void StartController(int i) {
    absl::StatusOr<std::unique_ptr<ChildProcess>> process = StartControllerProcess(
        {"--store", cluster_->Url(), "--listen", addresses_[i], "--admin-socket", AdminSocket(i),
         "--data-dir", dir_.Join(absl::StrCat("data-", i)), "--secrets-key-file",
         dir_.Join("secrets.key")},
        dir_.path(), absl::StrCat("controller-", i));
    ASSERT_TRUE(process.ok()) << process.status();
    controllers_[i] = *std::move(process);
  }

  // Waits until one of `candidates` logs that it leads; returns its index.
  int WaitForNewLeader(const std::vector<int>& candidates) {
    const absl::Time deadline = absl::Now() + kTakeoverTimeout;
    while (absl::Now() < deadline) {
      for (int i : candidates) {
        if (controllers_[i]->ReadStderr().find("leading: this controller is the leader") !=
            std::string::npos) {
          return i;
        }
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "no controller took over within " << kTakeoverTimeout;
    return -1;
  }

  ProcessResult Pyctl(const std::string& controller, std::vector<std::string> args) {
    args.insert(args.begin(), {"--controller", controller});
    return RunPyctl(args, dir_.path());
  }

  testing::TempDir dir_;
  std::unique_ptr<EtcdCluster> cluster_;
  std::vector<std::string> addresses_;
  std::vector<std::unique_ptr<ChildProcess>> controllers_;
};

TEST_F(ControllerHaTest, FollowersRefuseNamingTheLeader_AKilledLeaderIsReplacedWithItsState) {
  StartController(0);
  ASSERT_TRUE(controllers_[0]
                  ->WaitForStderrLine("leading: this controller is the leader", kTakeoverTimeout)
                  .ok())
      << controllers_[0]->ReadStderr();
  for (int i = 1; i < kControllers; ++i) {
    StartController(i);
    ASSERT_TRUE(controllers_[i]
                    ->WaitForStderrLine(absl::StrCat("the leader is ", addresses_[0]),
                                        kTakeoverTimeout)
                    .ok())
        << controllers_[i]->ReadStderr();
    ASSERT_TRUE(controllers_[i]
                    ->WaitForStderrLine(absl::StrCat("refusing every call on ", addresses_[i]),
                                        kTakeoverTimeout)
                    .ok())
        << controllers_[i]->ReadStderr();
  }
  const ProcessResult applied =
      Pyctl(absl::StrCat("unix:", AdminSocket(0)), {"apply", "app.yaml", "--no-wait"});
  ASSERT_TRUE(applied.Succeeded()) << applied.Describe() << "\n" << applied.stderr_text;

  // A follower refuses, naming the leader.
  const ProcessResult refused = Pyctl(addresses_[1], {"get", "apps"});
  EXPECT_FALSE(refused.Succeeded());
  EXPECT_THAT(refused.stderr_text,
              HasSubstr(absl::StrCat("not the leader: the leader is ", addresses_[0])));

  ASSERT_TRUE(controllers_[0]->Signal(SIGKILL).ok());
  const int leader = WaitForNewLeader({1, 2});
  ASSERT_NE(leader, -1);
  ASSERT_TRUE(controllers_[leader]
                  ->WaitForStderrLine(absl::StrCat("listening on ", addresses_[leader]),
                                      kTakeoverTimeout)
                  .ok());

  // What the dead leader stored is served by the new one.
  const ProcessResult apps =
      Pyctl(absl::StrCat("unix:", AdminSocket(leader)), {"get", "apps"});
  ASSERT_TRUE(apps.Succeeded()) << apps.Describe() << "\n" << apps.stderr_text;
  EXPECT_THAT(apps.stdout_text, HasSubstr("hello"));
  // The remaining follower now names the new leader.
  const int follower = leader == 1 ? 2 : 1;
  const ProcessResult refused_again = Pyctl(addresses_[follower], {"get", "apps"});
  EXPECT_THAT(refused_again.stderr_text,
              HasSubstr(absl::StrCat("not the leader: the leader is ", addresses_[leader])));
}

}  // namespace
}  // namespace pyservice
