#include "controller/server/controller_server.h"

#include <sys/stat.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/create_channel.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "absl/strings/str_cat.h"
#include "controller/fleet/agent_service.h"
#include "controller/service/controller_service.h"
#include "controller/store/aes_gcm_spec_sealer.h"
#include "controller/store/sqlite_store.h"
#include "pyservice/v1/agent.grpc.pb.h"
#include "pyservice/v1/controller.grpc.pb.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_secret_keys.h"

namespace pyservice::controller {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// A real service over a real store, so the server is tested with what it
// serves in production.
class ControllerServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store =
        SqliteStore::Open(dir_.Join("data"), clock_, sealer_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    absl::StatusOr<std::unique_ptr<fleet::Fleet>> fleet =
        fleet::Fleet::Create(*store_, clock_, fleet::FleetOptions());
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
    service_ = std::make_unique<ControllerServiceImpl>(*store_, clock_, *fleet_, fingerprints_);
  }

  // Serves the operator API and, on queues of its own, the agents' streams
  // (a new AgentServiceImpl per server: its queues belong to one server).
  absl::StatusOr<std::unique_ptr<ControllerServer>> Start(
      std::vector<std::string> listen) {
    ControllerServerOptions options;
    options.listen = std::move(listen);
    options.services = {service_.get()};
    agent_services_.push_back(std::make_unique<fleet::AgentServiceImpl>(
        *fleet_, [](const grpc::ServerContextBase&, absl::string_view) {
          return absl::StatusOr<auth::Principal>(auth::Principal());
        }));
    options.queue_services = {agent_services_.back().get()};
    options.shutdown_grace = absl::Seconds(1);
    return ControllerServer::Start(options);
  }

  // One ListApps call to `address`: proves something serves there.
  grpc::Status ListApps(const std::string& address) {
    auto stub = v1::ControllerService::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    v1::ListAppsResponse response;
    return stub->ListApps(&context, v1::ListAppsRequest(), &response);
  }

  std::unique_ptr<v1::AgentService::Stub> AgentStub(const std::string& address) {
    return v1::AgentService::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }

  bool Exists(const std::string& path) {
    struct stat info;
    return lstat(path.c_str(), &info) == 0;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  const SecretKeys keys_ = testing::TestSecretKeys();
  const spec::SecretFingerprinter fingerprints_{keys_.fingerprint};
  const AesGcmSpecSealer sealer_{keys_, "test.key"};
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<fleet::Fleet> fleet_;
  std::unique_ptr<ControllerServiceImpl> service_;
  // Declared after fleet_ and before every server (test locals): they
  // outlive the servers and die before the fleet.
  std::vector<std::unique_ptr<fleet::AgentServiceImpl>> agent_services_;
};

TEST_F(ControllerServerTest, ServesOnEveryAddressAndReportsTheRealPort) {
  const std::string socket = dir_.Join("run/controller.sock");
  auto server = Start({"127.0.0.1:0", "unix:" + socket});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::vector<ListenAddress>& bound = (*server)->bound_addresses();
  ASSERT_THAT(bound, SizeIs(2));
  ASSERT_THAT((*server)->tcp_ports(), SizeIs(1));
  const int port = (*server)->tcp_ports()[0];
  EXPECT_GT(port, 0);
  EXPECT_EQ(bound[0].ToString(), absl::StrCat("127.0.0.1:", port));
  EXPECT_EQ(bound[1].ToString(), "unix:" + socket);

  EXPECT_TRUE(ListApps(bound[0].ToString()).ok());
  EXPECT_TRUE(ListApps(bound[1].ToString()).ok());
}

TEST_F(ControllerServerTest, ShutdownStopsServingAndRemovesTheSocketFile) {
  const std::string socket = dir_.Join("controller.sock");
  auto server = Start({"unix:" + socket});
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE(Exists(socket));
  (*server)->Shutdown();
  (*server)->Shutdown();  // idempotent
  EXPECT_FALSE(Exists(socket));
  EXPECT_EQ(ListApps("unix:" + socket).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ControllerServerTest, ShutdownEndsConnectedAgentsSessionsAndReturns) {
  const std::string address = "unix:" + dir_.Join("controller.sock");
  auto server = Start({address});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = AgentStub(address);
  constexpr int kAgents = 12;  // more than the service has queues
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::ControllerMessage>>>
      streams;
  for (int i = 0; i < kAgents; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    streams.push_back(stub->Connect(contexts.back().get()));
    v1::AgentMessage hello;
    hello.mutable_hello()->set_host(absl::StrCat("h", i));
    ASSERT_TRUE(streams.back()->Write(hello));
    v1::ControllerMessage welcome;
    ASSERT_TRUE(streams.back()->Read(&welcome));
    ASSERT_TRUE(welcome.has_welcome()) << welcome.DebugString();
  }
  for (int i = 0; i < kAgents; ++i) {
    std::optional<fleet::HostView> host = fleet_->registry().GetHost(absl::StrCat("h", i));
    ASSERT_TRUE(host.has_value() && host->connected) << "h" << i;
  }

  // The agents keep their streams open: the grace runs out, every call is
  // cancelled, every session ends, and only then are the queues shut down.
  (*server)->Shutdown();
  for (int i = 0; i < kAgents; ++i) {
    std::optional<fleet::HostView> host = fleet_->registry().GetHost(absl::StrCat("h", i));
    ASSERT_TRUE(host.has_value());
    EXPECT_FALSE(host->connected) << "h" << i << ": its session ended with the server";
    v1::ControllerMessage more;
    EXPECT_FALSE(streams[i]->Read(&more));
    EXPECT_FALSE(streams[i]->Finish().ok());
  }
}

TEST_F(ControllerServerTest, AgentStreamsAreServedOnTheAgentServicesQueues) {
  const std::string address = "unix:" + dir_.Join("controller.sock");
  auto server = Start({address});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = AgentStub(address);
  grpc::ClientContext context;
  auto stream = stub->Connect(&context);
  // A first message that is not Hello ends the stream with the reason.
  v1::AgentMessage heartbeat;
  heartbeat.mutable_heartbeat()->set_sequence(1);
  ASSERT_TRUE(stream->Write(heartbeat));
  v1::ControllerMessage reply;
  EXPECT_FALSE(stream->Read(&reply));
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "the first message on the stream must be Hello");
}

TEST_F(ControllerServerTest, ATakenPortIsAnErrorNamingTheAddress) {
  auto first = Start({"127.0.0.1:0"});
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string taken =
      absl::StrCat("127.0.0.1:", (*first)->tcp_ports()[0]);
  auto second = Start({"127.0.0.1:0", taken});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message(),
            absl::StrCat("cannot listen on ", taken, ": Address already in use"));
  EXPECT_TRUE(ListApps(taken).ok()) << "the first server is undisturbed";
}

TEST_F(ControllerServerTest, ALiveSocketIsNotStolen) {
  const std::string socket = dir_.Join("controller.sock");
  auto first = Start({"unix:" + socket});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = Start({"unix:" + socket});
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(),
              HasSubstr("another server is listening there"));
  EXPECT_TRUE(ListApps("unix:" + socket).ok());
}

TEST_F(ControllerServerTest, NoAddressOrABadOneIsInvalidArgument) {
  EXPECT_EQ(Start({}).status().code(), absl::StatusCode::kInvalidArgument);
  auto bad = Start({"127.0.0.1:0", "nonsense"});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("\"nonsense\""));
}

// Without credentials, plaintext only where it never leaves the host.
TEST_F(ControllerServerTest, PlaintextOnANetworkAddressNeedsInsecure) {
  auto refused = Start({"127.0.0.1:0", "0.0.0.0:0"});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(),
              AllOf(HasSubstr("\"0.0.0.0:0\""), HasSubstr("--insecure")));

  ControllerServerOptions options;
  options.listen = {"0.0.0.0:0"};
  options.services = {service_.get()};
  options.insecure = true;
  auto allowed = ControllerServer::Start(options);
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_TRUE(
      ListApps(absl::StrCat("127.0.0.1:", (*allowed)->tcp_ports()[0])).ok());
}

}  // namespace
}  // namespace pyservice::controller
