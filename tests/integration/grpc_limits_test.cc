// The controller's transport and agent-stream limits over real gRPC on a
// Unix socket: message sizes, bounded agent fields that never reach the
// log, per-agent rate limits, concurrent streams per connection, and
// keepalive dropping a peer that stopped answering. Each test sets the one
// limit it proves low (or uses the default) and asserts what a peer over
// it sees and what the controller logged.
#include <signal.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/fleet/agent_service.h"
#include "controller/fleet/fleet.h"
#include "controller/server/controller_server.h"
#include "controller/service/controller_service.h"
#include "controller/store/aes_gcm_spec_sealer.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/fake_agent.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/log_capture.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_secret_keys.h"

namespace pyservice {
namespace {

using ::pyservice::testing::FakeAgent;
using ::pyservice::testing::FakeAgentOptions;
using ::testing::HasSubstr;
using ::testing::Not;

// Polls `done` until it holds or `timeout` passes (a bound on waiting, not
// a threshold the test asserts).
bool Eventually(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(20)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return done();
}

int Count(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

class GrpcLimitsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    agents_.clear();
    if (fleet_) fleet_->Shutdown();
    if (server_) server_->Shutdown();
  }

  // The controller as main.cc wires it (without the access layer: agents
  // are taken at their Hello's word, as with --insecure-agents), on a Unix
  // socket, with `limits` on its listener.
  void StartController(controller::TransportLimits limits = {},
                       controller::fleet::FleetOptions options = {}) {
    absl::StatusOr<std::unique_ptr<controller::SqliteStore>> store =
        controller::SqliteStore::Open(dir_.Join("data"), clock_, sealer_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    options.sweep_period = absl::Hours(1);  // lost hosts only by keepalive here
    absl::StatusOr<std::unique_ptr<controller::fleet::Fleet>> fleet =
        controller::fleet::Fleet::Create(*store_, clock_, options);
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
    service_ = std::make_unique<controller::ControllerServiceImpl>(*store_, clock_, *fleet_,
                                                                   fingerprints_);
    agent_service_ = std::make_unique<controller::fleet::AgentServiceImpl>(
        *fleet_, [](const grpc::ServerContextBase&, absl::string_view) {
          return absl::StatusOr<controller::auth::Principal>(controller::auth::Principal());
        });
    controller::ControllerServerOptions server_options;
    server_options.listen = {address()};
    server_options.services = {service_.get()};
    server_options.queue_services = {agent_service_.get()};
    server_options.limits = limits;
    absl::StatusOr<std::unique_ptr<controller::ControllerServer>> server =
        controller::ControllerServer::Start(server_options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::string address() const { return "unix:" + dir_.Join("controller.sock"); }

  FakeAgent& StartAgent(const std::string& host,
                        std::shared_ptr<grpc::Channel> channel = nullptr) {
    FakeAgentOptions options;
    options.address = address();
    options.host = host;
    options.channel = std::move(channel);
    absl::StatusOr<std::unique_ptr<FakeAgent>> agent = FakeAgent::Start(std::move(options));
    EXPECT_TRUE(agent.ok()) << agent.status();
    agents_.push_back(*std::move(agent));
    return *agents_.back();
  }

  bool HostConnected(const std::string& host) {
    std::optional<controller::fleet::HostView> view = fleet_->registry().GetHost(host);
    return view.has_value() && view->connected;
  }

  absl::Time LastSeen(const std::string& host) {
    for (const controller::fleet::HostSummary& summary : fleet_->registry().ListHosts()) {
      if (summary.name == host) return summary.last_seen;
    }
    return absl::InfinitePast();
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  // Before the server: it logs from gRPC's threads until it is stopped.
  testing::LogCapture log_;
  const controller::SecretKeys keys_ = testing::TestSecretKeys();
  const spec::SecretFingerprinter fingerprints_{keys_.fingerprint};
  const controller::AesGcmSpecSealer sealer_{keys_, "test.key"};
  std::unique_ptr<controller::SqliteStore> store_;
  std::unique_ptr<controller::fleet::Fleet> fleet_;
  std::unique_ptr<controller::ControllerServiceImpl> service_;
  std::unique_ptr<controller::fleet::AgentServiceImpl> agent_service_;
  std::unique_ptr<controller::ControllerServer> server_;
  std::vector<std::unique_ptr<FakeAgent>> agents_;
};

// ---- message sizes and bounded fields ----

TEST_F(GrpcLimitsTest, FourMiBHostNameIsRefusedByTheTransportAndNeverLogged) {
  StartController();
  const std::string host(4 << 20, 'h');
  FakeAgent& agent = StartAgent(host);
  absl::StatusOr<grpc::Status> end = agent.WaitForEnd();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << end->error_message();
  EXPECT_THAT(end->error_message(), Not(HasSubstr(std::string(64, 'h'))));
  EXPECT_FALSE(HostConnected(host));
  EXPECT_THAT(log_.Text(), Not(HasSubstr(std::string(64, 'h'))));
}

TEST_F(GrpcLimitsTest, HostNameUnderTheTransportLimitIsRefusedNamingFieldAndSizeNeverTheValue) {
  StartController();
  const std::string host(1 << 20, 'h');  // as big as a message gets through
  FakeAgent& agent = StartAgent(host);
  absl::StatusOr<grpc::Status> end = agent.WaitForEnd();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(end->error_message(), "hello.host: 1048576 bytes, the limit is 253");
  EXPECT_FALSE(HostConnected(host));
  const std::string log = log_.Text();
  EXPECT_THAT(log, HasSubstr("hello.host: 1048576 bytes, the limit is 253"));
  EXPECT_THAT(log, Not(HasSubstr(std::string(64, 'h'))));
}

TEST_F(GrpcLimitsTest, OversizeFieldsOfLaterMessagesEndTheStreamNamingTheField) {
  StartController();
  FakeAgent& agent = StartAgent("web-1");
  ASSERT_TRUE(agent.WaitForWelcome().ok());
  v1::AgentMessage message;
  v1::DeployResult& result = *message.mutable_result();
  result.set_app("hello");
  result.set_failed_step("checkout");
  result.set_error(std::string(100 << 10, 'e') + "\nforged log line");
  agent.SendRaw(message);
  absl::StatusOr<grpc::Status> end = agent.WaitForEnd();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(end->error_message(), "result.error: 102416 bytes, the limit is 16384");
  const std::string log = log_.Text();
  EXPECT_THAT(log, HasSubstr("agent host web-1 sent a message out of bounds: result.error"));
  EXPECT_THAT(log, Not(HasSubstr("eeeeeeee")));
  EXPECT_THAT(log, Not(HasSubstr("\nforged")));
}

TEST_F(GrpcLimitsTest, ApplyOverTheMaxReceiveSizeIsResourceExhausted) {
  StartController();
  auto stub = v1::ControllerService::NewStub(
      grpc::CreateChannel(address(), grpc::InsecureChannelCredentials()));
  v1::ApplyAppRequest request;
  request.set_yaml(absl::StrCat("name: big\n# ", std::string(2 << 20, 'x'), "\n"));
  v1::ApplyAppResponse response;
  grpc::ClientContext context;
  const grpc::Status status = stub->ApplyApp(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("larger than max"));
}

TEST_F(GrpcLimitsTest, ApplyOfTheLargestSpecTheParserTakesStillArrives) {
  StartController();
  auto stub = v1::ControllerService::NewStub(
      grpc::CreateChannel(address(), grpc::InsecureChannelCredentials()));
  v1::ApplyAppRequest request;
  // One byte over the parser's 1 MiB: refused by the parser, which names
  // the size, not by the transport.
  request.set_yaml(std::string((1 << 20) + 1, '#'));
  v1::ApplyAppResponse response;
  grpc::ClientContext context;
  const grpc::Status status = stub->ApplyApp(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
}

// ---- per-agent rate limit ----

TEST_F(GrpcLimitsTest, FloodingAgentIsCutOffOnceWhileAWellBehavedOneKeepsItsStream) {
  controller::fleet::FleetOptions options;
  options.agent_message_rate = {.per_second = 10, .burst = 20};
  StartController({}, options);
  FakeAgent& good = StartAgent("good-1");
  FakeAgent& flood = StartAgent("flood-1");
  ASSERT_TRUE(good.WaitForWelcome().ok());
  ASSERT_TRUE(flood.WaitForWelcome().ok());

  // The fake clock stands still: 200 messages at once are 200 a second
  // and more.
  for (int i = 0; i < 200; ++i) flood.SendHeartbeat();
  absl::StatusOr<grpc::Status> end = flood.WaitForEnd();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(end->error_message(), HasSubstr("more than 10 messages a second"));
  EXPECT_TRUE(Eventually([&] { return !HostConnected("flood-1"); }));

  // 15 a batch, two seconds apart: 45 messages in all, more than the
  // burst, all within the rate. Each batch ends with a health message the
  // test waits to see: the controller has taken the whole batch before the
  // clock moves on (otherwise a slow controller would take two batches at
  // one instant, over the burst).
  for (int batch = 0; batch < 3; ++batch) {
    for (int i = 0; i < 14; ++i) good.SendHeartbeat();
    v1::AppHealth health;
    health.set_app("hello");
    health.set_message(absl::StrCat("batch ", batch));
    good.SendHealth(health);
    ASSERT_TRUE(Eventually([&] {
      std::optional<controller::fleet::HostView> view = fleet_->registry().GetHost("good-1");
      return good.ended() || (view.has_value() && view->apps.count("hello") == 1 &&
                              view->apps.at("hello").message() == health.message());
    }));
    clock_.Advance(absl::Seconds(2));
  }
  good.SendHeartbeat();
  const absl::Time last = clock_.Now();
  ASSERT_TRUE(Eventually([&] { return good.ended() || LastSeen("good-1") == last; }));
  EXPECT_FALSE(good.ended());
  EXPECT_TRUE(HostConnected("good-1"));

  const std::string log = log_.Text();
  EXPECT_EQ(Count(log, "is flooding"), 1) << log;
  EXPECT_THAT(log, HasSubstr("agent host flood-1 is flooding the controller"));
}

// ---- concurrent streams per connection ----

TEST_F(GrpcLimitsTest, StreamsOverTheLimitOfOneConnectionAreNotServedUntilOneEnds) {
  controller::TransportLimits limits;
  limits.max_concurrent_streams = 2;
  StartController(limits);
  // A subchannel pool of its own: channels to one address otherwise share
  // their connection, and the other agents' would be this one.
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::Channel> connection =
      grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), arguments);
  FakeAgent& first = StartAgent("a-1", connection);
  FakeAgent& second = StartAgent("a-2", connection);
  ASSERT_TRUE(first.WaitForWelcome().ok());
  ASSERT_TRUE(second.WaitForWelcome().ok());
  // The third stream is held by the client until the connection has room
  // (its Connect blocks meanwhile, so it is opened on a thread of its own).
  absl::StatusOr<std::unique_ptr<FakeAgent>> third;
  std::thread opener([&] {
    FakeAgentOptions options;
    options.host = "a-3";
    options.channel = connection;
    third = FakeAgent::Start(std::move(options));
  });
  // Another connection is not affected.
  FakeAgent& elsewhere = StartAgent("b-1");
  EXPECT_TRUE(elsewhere.WaitForWelcome().ok());
  // A short wait for something that must not happen.
  absl::SleepFor(absl::Seconds(1));
  EXPECT_FALSE(HostConnected("a-3")) << "a third stream on one connection was served";

  first.CloseStream();
  opener.join();
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_TRUE((*third)->WaitForWelcome().ok());
  EXPECT_TRUE(Eventually([&] { return HostConnected("a-3"); }));
  agents_.push_back(*std::move(third));
}

// ---- keepalive ----

TEST_F(GrpcLimitsTest, AgentThatStopsAnsweringIsDroppedByKeepaliveAndShownDisconnected) {
  // The fleet's own lost-host sweep never runs here (fake clock, no
  // sweep): only the transport's keepalive can notice the stopped agent.
  StartController(controller::WithKeepalive(absl::Milliseconds(200), absl::Milliseconds(500)));
  absl::StatusOr<std::unique_ptr<testing::ChildProcess>> child =
      testing::ChildProcess::Start({.argv = {FAKE_AGENT_BIN, address(), "stopped-1"},
                                    .output_dir = dir_.path(),
                                    .name = "fake_agent"});
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE((*child)->WaitForStderrLine("welcomed stopped-1", absl::Seconds(20)).ok())
      << (*child)->ReadStderr();
  ASSERT_TRUE(Eventually([&] { return HostConnected("stopped-1"); }));

  ASSERT_TRUE((*child)->Signal(SIGSTOP).ok());
  EXPECT_TRUE(Eventually([&] { return !HostConnected("stopped-1"); }, absl::Seconds(30)))
      << "a stopped agent is still shown connected";
  std::optional<controller::fleet::HostView> view = fleet_->registry().GetHost("stopped-1");
  ASSERT_TRUE(view.has_value());
  EXPECT_FALSE(view->connected);
  (void)(*child)->Signal(SIGKILL);
}

}  // namespace
}  // namespace pyservice
