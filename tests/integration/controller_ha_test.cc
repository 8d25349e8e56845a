// Three real pyservice-controller processes on one real 3-node etcd
// cluster (`--store etcd://...`): one leads, the others refuse every call
// naming it; killed with SIGKILL, the leader is replaced by a follower,
// which serves what the first one stored and finishes its rollout (fake
// agents, tests/testing/fake_agent.h, reconnecting as real agents given
// every controller's address do). The access state is shared too: operator
// tokens, revocations, agent certificates and the agents' CA hold on the
// new leader. `migrate` copies a SQLite store there, tokens included.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "common/tls/credentials.h"
#include "common/tls/pki.h"
#include "grpcpp/grpcpp.h"
#include "pyservice/v1/agent.grpc.pb.h"
#include "tests/common/tls/test_pki.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/controller_harness.h"
#include "tests/testing/child_process.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/fake_agent.h"
#include "tests/testing/json.h"
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
    const absl::StatusOr<tls::testing::TestPki>& pki = tls::testing::GetTestPki();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *pki;
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
  void StartController(int i, const std::vector<std::string>& extra_args = {}) {
    std::vector<std::string> args = {
        "--store", cluster_->Url(), "--listen", addresses_[i], "--admin-socket", AdminSocket(i),
        "--data-dir", dir_.Join(absl::StrCat("data-", i)), "--secrets-key-file",
        dir_.Join("secrets.key")};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    absl::StatusOr<std::unique_ptr<ChildProcess>> process =
        StartControllerProcess(args, dir_.path(), absl::StrCat("controller-", i));
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

  // Waits until controller `i` leads and serves; false (the test failed)
  // otherwise.
  bool WaitUntilServing(int i) {
    return controllers_[i]
        ->WaitForStderrLine(absl::StrCat("listening on ", addresses_[i]), kTakeoverTimeout)
        .ok();
  }

  // Starts controller 0 on the empty store, which it leads, and waits until
  // it serves.
  void StartFirstLeader(const std::vector<std::string>& extra_args = {}) {
    StartController(0, extra_args);
    ASSERT_TRUE(controllers_[0]
                    ->WaitForStderrLine("leading: this controller is the leader", kTakeoverTimeout)
                    .ok())
        << controllers_[0]->ReadStderr();
    ASSERT_TRUE(WaitUntilServing(0)) << controllers_[0]->ReadStderr();
  }

  // An operator token `name` made through controller `i`'s admin socket,
  // written to DIR/NAME.token (0600); "" when that failed (the test fails).
  std::string TokenFile(int i, const std::string& name, const std::string& role = "viewer") {
    const ProcessResult created = Pyctl(absl::StrCat("unix:", AdminSocket(i)),
                                        {"auth", "create-token", name, "--role", role});
    EXPECT_TRUE(created.Succeeded()) << created.Describe() << "\n" << created.stderr_text;
    const std::string path = dir_.Join(name + ".token");
    EXPECT_TRUE(testing::WriteOwnerOnlyFile(path, created.stdout_text).ok());
    return created.Succeeded() ? path : "";
  }

  // Enrolls `host` at controller `i` as an agent does (an enrollment token
  // from its admin socket, the Enroll RPC over TLS); the key is written to
  // DIR/HOST.key and the certificate to DIR/HOST.crt.
  absl::StatusOr<v1::EnrollResponse> Enroll(int i, const std::string& host) {
    const ProcessResult token =
        Pyctl(absl::StrCat("unix:", AdminSocket(i)), {"host", "enroll-token", host});
    if (!token.Succeeded()) return absl::InternalError(token.stderr_text);
    absl::StatusOr<std::string> key = tls::GeneratePrivateKeyPem();
    if (!key.ok()) return key.status();
    absl::StatusOr<std::string> csr = tls::MakeCertificateRequestPem(*key, host);
    if (!csr.ok()) return csr.status();
    tls::TlsClientOptions options;
    options.ca_file = pki_.ca_crt();
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        tls::MakeChannelCredentials(options);
    if (!credentials.ok()) return credentials.status();
    v1::EnrollRequest request;
    request.set_token(std::string(absl::StripAsciiWhitespace(token.stdout_text)));
    request.set_csr_pem(*csr);
    v1::EnrollResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    const grpc::Status status =
        v1::AgentService::NewStub(grpc::CreateChannel(addresses_[i], *credentials))
            ->Enroll(&context, request, &response);
    if (!status.ok()) return absl::UnknownError(status.error_message());
    if (absl::Status written = testing::WriteOwnerOnlyFile(dir_.Join(host + ".key"), *key);
        !written.ok()) {
      return written;
    }
    if (absl::Status written =
            testing::WriteOwnerOnlyFile(dir_.Join(host + ".crt"), response.certificate_pem());
        !written.ok()) {
      return written;
    }
    return response;
  }

  // A fake agent at controller `i` with HOST's enrolled certificate.
  absl::StatusOr<std::unique_ptr<testing::FakeAgent>> AgentWithCertificate(
      int i, const std::string& host) {
    tls::TlsClientOptions tls;
    tls.ca_file = pki_.ca_crt();
    tls.cert_file = dir_.Join(host + ".crt");
    tls.key_file = dir_.Join(host + ".key");
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        tls::MakeChannelCredentials(tls);
    if (!credentials.ok()) return credentials.status();
    testing::FakeAgentOptions options;
    options.address = addresses_[i];
    options.credentials = *credentials;
    return testing::FakeAgent::Start(std::move(options));
  }

  // pyctl over TLS to controller `i` with the token in `token_file`.
  ProcessResult PyctlWithToken(int i, const std::string& token_file,
                               std::vector<std::string> args) {
    args.insert(args.begin(), {"--tls-ca", pki_.ca_crt(), "--token-file", token_file});
    return Pyctl(addresses_[i], std::move(args));
  }

  tls::testing::TestPki pki_;

  testing::TempDir dir_;
  std::unique_ptr<EtcdCluster> cluster_;
  std::vector<std::string> addresses_;
  std::vector<std::unique_ptr<ChildProcess>> controllers_;
};

TEST_F(ControllerHaTest, FollowersRefuseNamingTheLeader_AKilledLeaderIsReplacedWithItsState) {
  ASSERT_NO_FATAL_FAILURE(StartFirstLeader());
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
  // pyctl given several addresses skips the follower's refusal.
  const int other = leader == 1 ? 2 : 1;
  const ProcessResult listed = Pyctl(
      absl::StrCat(addresses_[other], ",unix:", AdminSocket(leader)), {"get", "apps"});
  ASSERT_TRUE(listed.Succeeded()) << listed.Describe() << "\n" << listed.stderr_text;
  EXPECT_THAT(listed.stdout_text, HasSubstr("hello"));
  // The remaining follower names the new leader once it has seen it: it
  // reads the leader key every poll interval (500 ms), so a refusal in
  // between still names the dead one (CI asked ~100 ms after the takeover).
  const int follower = leader == 1 ? 2 : 1;
  ASSERT_TRUE(controllers_[follower]
                  ->WaitForStderrLine(absl::StrCat("the leader is ", addresses_[leader]),
                                      kTakeoverTimeout)
                  .ok())
      << controllers_[follower]->ReadStderr();
  const ProcessResult refused_again = Pyctl(addresses_[follower], {"get", "apps"});
  EXPECT_THAT(refused_again.stderr_text,
              HasSubstr(absl::StrCat("not the leader: the leader is ", addresses_[leader])));
}

// A follower wins while a client's call to it is still open (refused, but
// not yet closed by the client, as an agent's stream can be): its refusal
// server stops at once instead of after a grace as long as the lease, so the
// lease it won does not expire before it is renewed and the new leader keeps
// leading (it exited with `lost leadership` 5 s after taking over).
TEST_F(ControllerHaTest, AFollowerWithACallLeftOpenTakesOverAndKeepsLeading) {
  ASSERT_NO_FATAL_FAILURE(StartFirstLeader());
  StartController(1);
  ASSERT_TRUE(controllers_[1]
                  ->WaitForStderrLine(absl::StrCat("refusing every call on ", addresses_[1]),
                                      kTakeoverTimeout)
                  .ok())
      << controllers_[1]->ReadStderr();

  // A Connect stream to the follower, started and then left alone: the
  // client neither reads the refusal nor half-closes.
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(addresses_[1], grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  grpc::CompletionQueue queue;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, "/pyservice.v1.AgentService/Connect", &queue);
  void* tag = nullptr;
  bool ok = false;
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(queue.Next(&tag, &ok));
  ASSERT_TRUE(ok) << "the call to the follower did not start";

  ASSERT_TRUE(controllers_[0]->Signal(SIGKILL).ok());
  ASSERT_EQ(WaitForNewLeader({1}), 1);
  ASSERT_TRUE(controllers_[1]
                  ->WaitForStderrLine(absl::StrCat("listening on ", addresses_[1]),
                                      kTakeoverTimeout)
                  .ok())
      << controllers_[1]->ReadStderr();
  // Still leading after longer than the lease's 5 s ttl: its renewals run.
  EXPECT_TRUE(absl::IsDeadlineExceeded(
      controllers_[1]->WaitForExit(absl::Seconds(10)).status()))
      << controllers_[1]->ReadStderr();
  const ProcessResult hosts =
      Pyctl(absl::StrCat("unix:", AdminSocket(1)), {"get", "hosts"});
  EXPECT_TRUE(hosts.Succeeded()) << hosts.Describe() << "\n" << hosts.stderr_text;

  context.TryCancel();
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(2));
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
}

// Controllers started at once share one agents' CA; what the leader knew
// about access (operator tokens, a revocation, an enrolled host's
// certificate) holds on the controller that takes over when it is killed.
TEST_F(ControllerHaTest, ControllersStartedAtOnceShareOneCaAndAKilledLeadersAccessStateHolds) {
  const std::vector<std::string> tls = {"--tls-cert", pki_.server_crt(), "--tls-key",
                                        pki_.server_key()};
  // The one key file every controller shares, made before they start (as
  // an operator distributes it), not by whichever starts first.
  absl::StatusOr<std::unique_ptr<ChildProcess>> init = StartControllerProcess(
      {"init-secrets-key", "--secrets-key-file", dir_.Join("secrets.key"), "--data-dir",
       dir_.Join("data-0")},
      dir_.path(), "init-secrets-key");
  ASSERT_TRUE(init.ok()) << init.status();
  absl::StatusOr<testing::ExitStatus> initialized = (*init)->WaitForExit(kTakeoverTimeout);
  ASSERT_TRUE(initialized.ok()) << initialized.status();
  ASSERT_EQ(initialized->Describe(), "exit status 0") << (*init)->ReadStderr();
  for (int i = 0; i < kControllers; ++i) StartController(i, tls);
  const int first = WaitForNewLeader({0, 1, 2});
  ASSERT_NE(first, -1);
  ASSERT_TRUE(WaitUntilServing(first)) << controllers_[first]->ReadStderr();

  const std::string viewer = TokenFile(first, "ops");
  const std::string revoked = TokenFile(first, "gone");
  ASSERT_TRUE(Pyctl(absl::StrCat("unix:", AdminSocket(first)), {"auth", "revoke", "gone"})
                  .Succeeded());
  const ProcessResult before = PyctlWithToken(first, viewer, {"get", "apps"});
  ASSERT_TRUE(before.Succeeded()) << before.Describe() << "\n" << before.stderr_text;
  absl::StatusOr<v1::EnrollResponse> enrolled = Enroll(first, "web-1");
  ASSERT_TRUE(enrolled.ok()) << enrolled.status() << "\n" << controllers_[first]->ReadStderr();
  {
    absl::StatusOr<std::unique_ptr<testing::FakeAgent>> agent =
        AgentWithCertificate(first, "web-1");
    ASSERT_TRUE(agent.ok()) << agent.status();
    absl::StatusOr<v1::Welcome> welcome = (*agent)->WaitForWelcome();
    ASSERT_TRUE(welcome.ok()) << welcome.status();
  }

  ASSERT_TRUE(controllers_[first]->Signal(SIGKILL).ok());
  std::vector<int> others;
  for (int i = 0; i < kControllers; ++i) {
    if (i != first) others.push_back(i);
  }
  const int second = WaitForNewLeader(others);
  ASSERT_NE(second, -1);
  ASSERT_TRUE(WaitUntilServing(second)) << controllers_[second]->ReadStderr();

  // The operator token made through the dead leader works here.
  const ProcessResult after = PyctlWithToken(second, viewer, {"get", "apps"});
  EXPECT_TRUE(after.Succeeded()) << after.Describe() << "\n" << after.stderr_text;
  // The one revoked before the kill stays refused.
  const ProcessResult refused = PyctlWithToken(second, revoked, {"get", "apps"});
  EXPECT_FALSE(refused.Succeeded());
  EXPECT_THAT(refused.stderr_text, HasSubstr("revoked"));
  // The host enrolled with the dead leader connects with its certificate.
  absl::StatusOr<std::unique_ptr<testing::FakeAgent>> agent =
      AgentWithCertificate(second, "web-1");
  ASSERT_TRUE(agent.ok()) << agent.status();
  absl::StatusOr<v1::Welcome> welcome = (*agent)->WaitForWelcome();
  ASSERT_TRUE(welcome.ok()) << welcome.status() << "\n" << controllers_[second]->ReadStderr();
  EXPECT_EQ(welcome->host(), "web-1");
  // One CA: the new leader certifies with the one the first used.
  absl::StatusOr<v1::EnrollResponse> next = Enroll(second, "web-2");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->ca_pem(), enrolled->ca_pem());
}

// `pyctl rollout status hello -o json`'s state at controller `i`; "" when
// it cannot be read.
std::string RolloutState(const ProcessResult& result) {
  if (!result.Succeeded()) return "";
  absl::StatusOr<testing::JsonValue> json = testing::ParseJson(result.stdout_text);
  if (!json.ok() || json->kind_case() != testing::JsonValue::kStructValue) return "";
  const auto& fields = json->struct_value().fields();
  const auto it = fields.find("state");
  return it == fields.end() ? "" : it->second.string_value();
}

TEST_F(ControllerHaTest, LeaderKilledMidRolloutTheNewLeaderFinishesIt) {
  ASSERT_NO_FATAL_FAILURE(StartFirstLeader({"--insecure-agents"}));
  for (int i = 1; i < kControllers; ++i) StartController(i, {"--insecure-agents"});
  const std::string admin0 = absl::StrCat("unix:", AdminSocket(0));

  std::vector<std::unique_ptr<testing::FakeAgent>> agents;
  const std::vector<std::string> hosts = {"h1", "h2", "h3"};
  for (const std::string& host : hosts) {
    testing::FakeAgentOptions options;
    options.address = addresses_[0];
    options.host = host;
    options.labels = {{"role", "web"}};
    absl::StatusOr<std::unique_ptr<testing::FakeAgent>> agent = testing::FakeAgent::Start(options);
    ASSERT_TRUE(agent.ok()) << agent.status();
    const absl::StatusOr<v1::Welcome> welcome = (*agent)->WaitForWelcome();
    ASSERT_TRUE(welcome.ok()) << host << ": " << welcome.status();
    agents.push_back(*std::move(agent));
  }
  const ProcessResult applied = Pyctl(admin0, {"apply", "app.yaml"});
  ASSERT_TRUE(applied.Succeeded()) << applied.Describe() << "\n" << applied.stderr_text;
  for (auto& agent : agents) ASSERT_TRUE(agent->WaitForRevision("hello", 1).ok());

  // One host per wave; the first wave's deploy held, so the leader dies
  // with the rollout in flight.
  for (auto& agent : agents) agent->HoldDeploys();
  const ProcessResult started =
      Pyctl(admin0, {"rollout", "hello", "--tag", "v2", "--batch", "1", "--no-wait"});
  ASSERT_TRUE(started.Succeeded()) << started.Describe() << "\n" << started.stderr_text;
  bool in_flight = false;
  for (auto& agent : agents) {
    if (agent->WaitForDeploy("hello", 1, absl::Seconds(3)).ok()) in_flight = true;
  }
  ASSERT_TRUE(in_flight) << "no host got revision 2 before the kill";
  EXPECT_EQ(RolloutState(Pyctl(admin0, {"rollout", "status", "hello", "-o", "json"})),
            "running");

  ASSERT_TRUE(controllers_[0]->Signal(SIGKILL).ok());
  const int leader = WaitForNewLeader({1, 2});
  ASSERT_NE(leader, -1);
  ASSERT_TRUE(controllers_[leader]
                  ->WaitForStderrLine(absl::StrCat("listening on ", addresses_[leader]),
                                      kTakeoverTimeout)
                  .ok());

  // The agents reconnect to the new leader with what they run.
  std::vector<std::unique_ptr<testing::FakeAgent>> reconnected;
  for (size_t i = 0; i < agents.size(); ++i) {
    testing::FakeAgentOptions options;
    options.address = addresses_[leader];
    options.host = hosts[i];
    options.labels = {{"role", "web"}};
    options.apps = agents[i]->apps();
    absl::StatusOr<std::unique_ptr<testing::FakeAgent>> agent = testing::FakeAgent::Start(options);
    ASSERT_TRUE(agent.ok()) << agent.status();
    ASSERT_TRUE((*agent)->WaitForWelcome().ok());
    reconnected.push_back(*std::move(agent));
  }
  agents.clear();

  const std::string admin = absl::StrCat("unix:", AdminSocket(leader));
  std::string state;
  const absl::Time deadline = absl::Now() + kTakeoverTimeout;
  while (absl::Now() < deadline) {
    state = RolloutState(Pyctl(admin, {"rollout", "status", "hello", "-o", "json"}));
    if (state == "succeeded") break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  EXPECT_EQ(state, "succeeded");
  for (auto& agent : reconnected) {
    EXPECT_TRUE(agent->WaitForRevision("hello", 2).ok()) << agent->host();
  }
  const ProcessResult history = Pyctl(admin, {"history", "hello"});
  EXPECT_THAT(history.stdout_text, HasSubstr("succeeded"));
}

TEST_F(ControllerHaTest, MigrateCopiesASqliteStoreAndItsTokensThatControllersOnEtcdServe) {
  std::filesystem::create_directories(dir_.Join("sqlite"));
  testing::ControllerHarness sqlite_controller(dir_.Join("sqlite"));
  ASSERT_TRUE(sqlite_controller.Start().ok()) << sqlite_controller.Stderr();
  const ProcessResult applied =
      Pyctl(sqlite_controller.admin_address(), {"apply", "app.yaml", "--no-wait"});
  ASSERT_TRUE(applied.Succeeded()) << applied.Describe() << "\n" << applied.stderr_text;
  absl::StatusOr<std::string> token_file = sqlite_controller.CreateTokenFile("ops", "viewer");
  ASSERT_TRUE(token_file.ok()) << token_file.status();
  ASSERT_TRUE(sqlite_controller.Stop(SIGTERM).ok());

  const std::string key = dir_.Join("sqlite/secrets.key");
  absl::StatusOr<std::unique_ptr<ChildProcess>> migrate = StartControllerProcess(
      {"migrate", "--from", absl::StrCat("sqlite:", sqlite_controller.data_dir()), "--to",
       cluster_->Url(), "--secrets-key-file", key},
      dir_.path(), "migrate");
  ASSERT_TRUE(migrate.ok()) << migrate.status();
  absl::StatusOr<testing::ExitStatus> migrated = (*migrate)->WaitForExit(kTakeoverTimeout);
  ASSERT_TRUE(migrated.ok()) << migrated.status();
  EXPECT_EQ(migrated->Describe(), "exit status 0") << (*migrate)->ReadStderr();
  EXPECT_THAT((*migrate)->ReadStderr(), HasSubstr("copied 1 app(s) with 1 revision(s)"));
  EXPECT_THAT((*migrate)->ReadStderr(), HasSubstr("copied 1 operator token(s)"));
  EXPECT_THAT((*migrate)->ReadStderr(), HasSubstr("the agents' CA: copied from"));

  // A second migrate finds the etcd store in use and writes nothing.
  absl::StatusOr<std::unique_ptr<ChildProcess>> again = StartControllerProcess(
      {"migrate", "--from", absl::StrCat("sqlite:", sqlite_controller.data_dir()), "--to",
       cluster_->Url(), "--secrets-key-file", key},
      dir_.path(), "migrate-again");
  ASSERT_TRUE(again.ok()) << again.status();
  absl::StatusOr<testing::ExitStatus> refused = (*again)->WaitForExit(kTakeoverTimeout);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->Describe(), "exit status 1");
  EXPECT_THAT((*again)->ReadStderr(), HasSubstr("migrate only into an empty one"));

  absl::StatusOr<std::unique_ptr<ChildProcess>> process = StartControllerProcess(
      {"--store", cluster_->Url(), "--listen", addresses_[0], "--admin-socket", AdminSocket(0),
       "--data-dir", dir_.Join("data-0"), "--secrets-key-file", key},
      dir_.path(), "controller-0");
  ASSERT_TRUE(process.ok()) << process.status();
  controllers_[0] = *std::move(process);
  ASSERT_TRUE(controllers_[0]->WaitForStderrLine("listening on", kTakeoverTimeout).ok())
      << controllers_[0]->ReadStderr();
  const ProcessResult described =
      Pyctl(absl::StrCat("unix:", AdminSocket(0)), {"describe", "app", "hello"});
  ASSERT_TRUE(described.Succeeded()) << described.Describe() << "\n" << described.stderr_text;
  EXPECT_THAT(described.stdout_text, HasSubstr("v1"));
  // The token made on SQLite works on etcd.
  const ProcessResult with_token =
      Pyctl(addresses_[0], {"--token-file", *token_file, "get", "apps"});
  EXPECT_TRUE(with_token.Succeeded()) << with_token.Describe() << "\n" << with_token.stderr_text;
  EXPECT_THAT(with_token.stdout_text, HasSubstr("hello"));
}

// rotate-secrets-key --store: refused while a controller leads; with every
// controller stopped it seals etcd again, and a controller started with the
// new key file serves the app. A key file with FILE.next beside it (an
// interrupted rotation) does not start.
TEST_F(ControllerHaTest, RotateSecretsKeyOnEtcdNeedsTheControllersStoppedAndTheNewKeyServes) {
  StartController(0);
  ASSERT_TRUE(WaitUntilServing(0)) << controllers_[0]->ReadStderr();
  const ProcessResult applied =
      Pyctl(absl::StrCat("unix:", AdminSocket(0)), {"apply", "app.yaml", "--no-wait"});
  ASSERT_TRUE(applied.Succeeded()) << applied.Describe() << "\n" << applied.stderr_text;
  const std::string key = dir_.Join("secrets.key");
  // Runs the rotation; its exit status, described, in `exit`.
  const auto rotate = [&](const std::string& name,
                          std::string& exit) -> std::unique_ptr<ChildProcess> {
    absl::StatusOr<std::unique_ptr<ChildProcess>> process = StartControllerProcess(
        {"rotate-secrets-key", "--store", cluster_->Url(), "--data-dir", dir_.Join("data-0"),
         "--secrets-key-file", key},
        dir_.path(), name);
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return nullptr;
    absl::StatusOr<testing::ExitStatus> exited = (*process)->WaitForExit(kTakeoverTimeout);
    EXPECT_TRUE(exited.ok()) << exited.status();
    exit = exited.ok() ? exited->Describe() : "";
    return *std::move(process);
  };

  std::string exit;
  std::unique_ptr<ChildProcess> refused = rotate("rotate-refused", exit);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(exit, "exit status 1");
  EXPECT_THAT(refused->ReadStderr(),
              HasSubstr(absl::StrCat("the controller at ", addresses_[0], " leads the cluster")));
  EXPECT_FALSE(std::filesystem::exists(key + ".previous"));

  ASSERT_TRUE(controllers_[0]->Signal(SIGTERM).ok());
  ASSERT_TRUE(controllers_[0]->WaitForExit(kTakeoverTimeout).ok());
  std::unique_ptr<ChildProcess> rotated = rotate("rotate", exit);
  ASSERT_NE(rotated, nullptr);
  EXPECT_EQ(exit, "exit status 0") << rotated->ReadStderr();
  EXPECT_THAT(rotated->ReadStderr(), HasSubstr("sealed 1 stored spec(s) with a new secrets key"));
  ASSERT_TRUE(std::filesystem::exists(key + ".previous"));

  // What an interrupted rotation leaves: FILE.next beside FILE.
  std::filesystem::copy_file(key, key + ".next");
  StartController(1);
  absl::StatusOr<testing::ExitStatus> not_started = controllers_[1]->WaitForExit(kTakeoverTimeout);
  ASSERT_TRUE(not_started.ok()) << not_started.status();
  EXPECT_EQ(not_started->Describe(), "exit status 1");
  EXPECT_THAT(controllers_[1]->ReadStderr(), HasSubstr("a key rotation was interrupted"));
  std::filesystem::remove(key + ".next");

  // Another controller (its own log file) with the new key.
  StartController(2);
  ASSERT_TRUE(WaitUntilServing(2)) << controllers_[2]->ReadStderr();
  const ProcessResult described =
      Pyctl(absl::StrCat("unix:", AdminSocket(2)), {"describe", "app", "hello"});
  ASSERT_TRUE(described.Succeeded()) << described.Describe() << "\n" << described.stderr_text;
  EXPECT_THAT(described.stdout_text, HasSubstr("v1"));
}

}  // namespace
}  // namespace pyservice
