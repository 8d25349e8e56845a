// The fixture of the fleet's in-process integration tests: the real store,
// fleet, services and gRPC server on a Unix socket, with a FakeClock, and
// several fake agents (tests/testing/fake_agent.h) speaking the real agent
// protocol. pyctl is the real binary.
#ifndef PYSERVICE_TESTS_INTEGRATION_FLEET_FIXTURE_H_
#define PYSERVICE_TESTS_INTEGRATION_FLEET_FIXTURE_H_
#include <signal.h>

#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <iostream>
#include <memory>
#include <string>
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
#include "tests/integration/controller_harness.h"
#include "tests/testing/child_process.h"
#include "tests/testing/fake_agent.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/json.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_secret_keys.h"

namespace pyservice {

using ::pyservice::testing::FakeAgent;
using ::pyservice::testing::FakeAgentOptions;
using ::pyservice::testing::JsonValue;
using ::pyservice::testing::KeysInOrder;
using ::pyservice::testing::ParseJson;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

inline constexpr char kIdentityHeader[] = "x-test-identity";
inline constexpr char kRfc3339[] = "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z";

inline std::string AppYaml(const std::string& name, const std::string& tag,
                    const std::string& targets = "") {
  std::string yaml = absl::StrCat("name: ", name, "\nrepo: file:///srv/git/", name,
                                  ".git\ntag: ", tag,
                                  "\nservices:\n  - name: web\n    command: \"python -m ", name,
                                  " web\"\n");
  if (!targets.empty()) absl::StrAppend(&yaml, "targets:\n  labels: {", targets, "}\n");
  return yaml;
}

// Polls `done` until it holds or `timeout` passes.
inline bool Eventually(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return done();
}

inline const google::protobuf::Map<std::string, JsonValue>& Fields(const JsonValue& v) {
  return v.struct_value().fields();
}

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override { StartController(); }

  void TearDown() override {
    agents_.clear();
    StopController();
  }

  // The controller as main.cc wires it, on a Unix socket, with the tests'
  // identity seam: a peer is the host named in its x-test-identity header.
  void StartController() {
    absl::StatusOr<std::unique_ptr<controller::SqliteStore>> store =
        controller::SqliteStore::Open(dir_.Join("data"), clock_, sealer_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    controller::fleet::FleetOptions options;
    options.heartbeat_interval = absl::Seconds(5);
    absl::StatusOr<std::unique_ptr<controller::fleet::Fleet>> fleet =
        controller::fleet::Fleet::Create(*store_, clock_, options);
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
    service_ = std::make_unique<controller::ControllerServiceImpl>(*store_, clock_, *fleet_,
                                                                   fingerprints_);
    // The operator API without the access layer (tests/integration/
    // auth_test.cc covers that); agents named by the header, or taken at
    // their Hello's word like --insecure-agents does without one.
    agent_service_ = std::make_unique<controller::fleet::AgentServiceImpl>(
        *fleet_, [](const grpc::ServerContextBase& context,
                    absl::string_view) -> absl::StatusOr<controller::auth::Principal> {
          controller::auth::Principal caller;
          const auto& metadata = context.client_metadata();
          const auto it = metadata.find(kIdentityHeader);
          if (it != metadata.end()) {
            caller.kind = controller::auth::Principal::Kind::kAgent;
            caller.host = std::string(it->second.data(), it->second.size());
          }
          return caller;
        });
    controller::ControllerServerOptions server_options;
    server_options.listen = {address()};
    server_options.services = {service_.get()};
    server_options.queue_services = {agent_service_.get()};
    absl::StatusOr<std::unique_ptr<controller::ControllerServer>> server =
        controller::ControllerServer::Start(server_options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::ControllerService::NewStub(
        grpc::CreateChannel(address(), grpc::InsecureChannelCredentials()));
  }

  void StopController() {
    if (fleet_) fleet_->Shutdown();
    if (server_) server_->Shutdown();
    server_.reset();
    agent_service_.reset();
    service_.reset();
    fleet_.reset();
    store_.reset();
  }

  std::string address() const { return "unix:" + dir_.Join("controller.sock"); }

  // A fake agent that said Hello and got its Welcome.
  FakeAgent& Agent(const std::string& host, std::map<std::string, std::string> labels = {},
                   std::map<std::string, v1::AppHealth> apps = {}) {
    FakeAgentOptions options;
    options.address = address();
    options.host = host;
    options.labels = std::move(labels);
    options.apps = std::move(apps);
    absl::StatusOr<std::unique_ptr<FakeAgent>> agent = FakeAgent::Start(std::move(options));
    EXPECT_TRUE(agent.ok()) << agent.status();
    absl::StatusOr<v1::Welcome> welcome = (*agent)->WaitForWelcome();
    EXPECT_TRUE(welcome.ok()) << welcome.status();
    agents_.push_back(*std::move(agent));
    // Connected in the registry too (Welcome is queued just before).
    EXPECT_TRUE(Eventually([&] { return HostConnected(host); })) << host;
    return *agents_.back();
  }

  bool HostConnected(const std::string& host) {
    std::optional<controller::fleet::HostView> view = fleet_->registry().GetHost(host);
    return view.has_value() && view->connected;
  }

  uint32_t Apply(const std::string& yaml) {
    v1::ApplyAppRequest request;
    request.set_yaml(yaml);
    v1::ApplyAppResponse response;
    grpc::ClientContext context;
    const grpc::Status status = stub_->ApplyApp(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.revision();
  }

  // Every event of WatchApp, and how it ended.
  grpc::Status Watch(const std::string& app, uint32_t revision,
                     std::vector<v1::WatchAppEvent>* events,
                     const std::function<void(const v1::WatchAppEvent&)>& on_event = {}) {
    v1::WatchAppRequest request;
    request.set_app(app);
    request.set_revision(revision);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    auto reader = stub_->WatchApp(&context, request);
    v1::WatchAppEvent event;
    while (reader->Read(&event)) {
      if (on_event) on_event(event);
      events->push_back(event);
    }
    return reader->Finish();
  }

  v1::AppStatus Status(const std::string& app) {
    v1::GetStatusRequest request;
    request.set_app(app);
    v1::GetStatusResponse response;
    grpc::ClientContext context;
    const grpc::Status status = stub_->GetStatus(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.apps_size() == 1 ? response.apps(0) : v1::AppStatus();
  }

  absl::Time LastSeen(const std::string& host) {
    for (const controller::fleet::HostSummary& summary : fleet_->registry().ListHosts()) {
      if (summary.name == host) return summary.last_seen;
    }
    return absl::InfinitePast();
  }

  std::vector<v1::Host> Hosts() {
    v1::ListHostsResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(stub_->ListHosts(&context, v1::ListHostsRequest(), &response).ok());
    return {response.hosts().begin(), response.hosts().end()};
  }

  void WriteFile(const std::string& name, const std::string& text) {
    std::ofstream(dir_.Join(name)) << text;
  }

  ProcessResult Pyctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--controller", address()});
    return testing::RunPyctl(args, dir_.path());
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  const controller::SecretKeys keys_ = testing::TestSecretKeys();
  const spec::SecretFingerprinter fingerprints_{keys_.fingerprint};
  const controller::AesGcmSpecSealer sealer_{keys_, "test.key"};
  std::unique_ptr<controller::SqliteStore> store_;
  std::unique_ptr<controller::fleet::Fleet> fleet_;
  std::unique_ptr<controller::ControllerServiceImpl> service_;
  std::unique_ptr<controller::fleet::AgentServiceImpl> agent_service_;
  std::unique_ptr<controller::ControllerServer> server_;
  std::unique_ptr<v1::ControllerService::Stub> stub_;
  std::vector<std::unique_ptr<FakeAgent>> agents_;
};

}  // namespace pyservice

#endif  // PYSERVICE_TESTS_INTEGRATION_FLEET_FIXTURE_H_
