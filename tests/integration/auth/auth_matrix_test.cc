// The auth matrix: every RPC of both services × every kind of caller, each
// cell's outcome written down here (not derived from the policy under
// test), over real TLS on loopback. A refused call must be refused with
// UNAUTHENTICATED or PERMISSION_DENIED and leave every row of the store as
// it was; an allowed one must get past the access layer (whatever the
// handler then says: NOT_FOUND for a missing app is an answer, not a
// refusal).
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "common/tls/pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/auth/auth_fixture.h"

namespace pyservice::testing {
namespace {

enum class Expect { kAllowed, kUnauthenticated, kDenied };

const char* ExpectName(Expect expect) {
  switch (expect) {
    case Expect::kAllowed: return "allowed";
    case Expect::kUnauthenticated: return "UNAUTHENTICATED";
    case Expect::kDenied: return "PERMISSION_DENIED";
  }
  return "?";
}

// The kinds of RPC, by what they need.
enum class Kind {
  kViewerOnApp,    // a viewer of the app
  kViewerAnyApp,   // any operator (listings are filtered)
  kDeployerOnApp,  // a deployer of the app
  kAdmin,          // an admin
  kAgent,          // an enrolled agent
  // Enroll with a used token: the token is the credential, so whoever
  // calls is refused, certificate or token or not.
  kEnrollWithUsedToken,
};

// One caller's column of the matrix.
struct Column {
  std::string name;
  std::function<Expect(Kind)> expect;
};

constexpr char kApp[] = "hello";
constexpr char kAppYaml[] =
    "name: hello\nrepo: file:///srv/git/hello.git\ntag: v1\n"
    "services:\n  - name: web\n    command: \"python -m hello web\"\n";

// One RPC: its kind and a call made as the given caller.
struct Rpc {
  std::string name;
  Kind kind;
  std::function<grpc::Status(AuthFixture&, const Caller&)> call;
};

template <typename Request, typename Response, typename Stub>
grpc::Status Unary(AuthFixture& fixture, const Caller& caller,
                   grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                   const Request& request, std::unique_ptr<Stub> stub) {
  grpc::ClientContext context;
  fixture.Prepare(caller, context);
  Response response;
  return ((*stub).*method)(&context, request, &response);
}

}  // namespace

class AuthMatrixTest : public AuthFixture {
 protected:
  std::unique_ptr<v1::ControllerService::Stub> Controller(const Caller& caller) {
    return v1::ControllerService::NewStub(Channel(caller));
  }
  std::unique_ptr<v1::AgentService::Stub> Agent(const Caller& caller) {
    return v1::AgentService::NewStub(Channel(caller));
  }

  std::vector<Rpc> Rpcs();
  int calls_ = 0;
  std::string used_enrollment_token_;
};

std::vector<Rpc> AuthMatrixTest::Rpcs() {
  using CS = v1::ControllerService::Stub;
  auto unary = [this](auto method, auto request) {
    return [this, method, request](AuthFixture& fixture, const Caller& caller) {
      return Unary(fixture, caller, method, request, Controller(caller));
    };
  };
  v1::ApplyAppRequest apply;
  apply.set_yaml(kAppYaml);
  apply.set_source_name("app.yaml");
  v1::GetAppRequest get_app;
  get_app.set_name(kApp);
  v1::DeleteAppRequest delete_app;
  delete_app.set_name(kApp);
  v1::ListRevisionsRequest revisions;
  revisions.set_name(kApp);
  v1::GetStatusRequest status;
  v1::StartRolloutRequest start;
  start.set_app(kApp);
  start.set_tag("v2");
  v1::GetRolloutRequest get_rollout;
  get_rollout.set_app(kApp);
  v1::ControlRolloutRequest control;
  control.set_app(kApp);
  control.set_action(v1::ControlRolloutRequest::ACTION_PAUSE);
  v1::UndoRolloutRequest undo;
  undo.set_app(kApp);
  v1::ListRolloutsRequest rollouts;
  rollouts.set_app(kApp);
  v1::RevokeTokenRequest revoke_token;
  revoke_token.set_name("no-such-token");
  v1::CreateEnrollmentTokenRequest enroll_token;
  enroll_token.set_host("matrix-host");
  v1::RevokeHostRequest revoke_host;
  revoke_host.set_name("no-such-host");

  std::vector<Rpc> rpcs = {
      {"ApplyApp", Kind::kDeployerOnApp, unary(&CS::ApplyApp, apply)},
      {"GetApp", Kind::kViewerOnApp, unary(&CS::GetApp, get_app)},
      {"ListApps", Kind::kViewerAnyApp, unary(&CS::ListApps, v1::ListAppsRequest())},
      {"DeleteApp", Kind::kDeployerOnApp, unary(&CS::DeleteApp, delete_app)},
      {"ListRevisions", Kind::kViewerOnApp, unary(&CS::ListRevisions, revisions)},
      {"ListHosts", Kind::kViewerAnyApp, unary(&CS::ListHosts, v1::ListHostsRequest())},
      {"GetStatus", Kind::kViewerAnyApp, unary(&CS::GetStatus, status)},
      {"StartRollout", Kind::kDeployerOnApp, unary(&CS::StartRollout, start)},
      {"GetRollout", Kind::kViewerOnApp, unary(&CS::GetRollout, get_rollout)},
      {"ControlRollout", Kind::kDeployerOnApp, unary(&CS::ControlRollout, control)},
      {"UndoRollout", Kind::kDeployerOnApp, unary(&CS::UndoRollout, undo)},
      {"ListRollouts", Kind::kViewerOnApp, unary(&CS::ListRollouts, rollouts)},
      {"WhoAmI", Kind::kViewerAnyApp, unary(&CS::WhoAmI, v1::WhoAmIRequest())},
      {"ListTokens", Kind::kAdmin, unary(&CS::ListTokens, v1::ListTokensRequest())},
      {"RevokeToken", Kind::kAdmin, unary(&CS::RevokeToken, revoke_token)},
      {"CreateEnrollmentToken", Kind::kAdmin, unary(&CS::CreateEnrollmentToken, enroll_token)},
      {"RevokeHost", Kind::kAdmin, unary(&CS::RevokeHost, revoke_host)},
  };
  rpcs.push_back({"CreateToken", Kind::kAdmin, [this](AuthFixture& fixture, const Caller& caller) {
                    v1::CreateTokenRequest request;
                    request.set_name(absl::StrCat("matrix-", ++calls_));
                    request.set_role(v1::ROLE_VIEWER);
                    return Unary(fixture, caller, &CS::CreateToken, request, Controller(caller));
                  }});
  rpcs.push_back({"WatchApp", Kind::kViewerOnApp, [this](AuthFixture& fixture, const Caller& caller) {
                    grpc::ClientContext context;
                    fixture.Prepare(caller, context);
                    v1::WatchAppRequest request;
                    request.set_app(kApp);
                    auto reader = Controller(caller)->WatchApp(&context, request);
                    v1::WatchAppEvent event;
                    if (reader->Read(&event)) context.TryCancel();
                    return reader->Finish();
                  }});
  rpcs.push_back({"WatchRollout", Kind::kViewerOnApp, [this](AuthFixture& fixture,
                                                             const Caller& caller) {
                    grpc::ClientContext context;
                    fixture.Prepare(caller, context);
                    v1::GetRolloutRequest request;
                    request.set_app(kApp);
                    auto reader = Controller(caller)->WatchRollout(&context, request);
                    v1::Rollout rollout;
                    if (reader->Read(&rollout)) context.TryCancel();
                    return reader->Finish();
                  }});
  // App output: a viewer of the app, like its status. (Allowed calls end
  // NOT_FOUND here: no connected host runs the app.)
  rpcs.push_back({"TailLogs", Kind::kViewerOnApp, [this](AuthFixture& fixture,
                                                         const Caller& caller) {
                    grpc::ClientContext context;
                    fixture.Prepare(caller, context);
                    v1::TailLogsRequest request;
                    request.set_app(kApp);
                    auto reader = Controller(caller)->TailLogs(&context, request);
                    v1::TailLogsResponse response;
                    if (reader->Read(&response)) context.TryCancel();
                    return reader->Finish();
                  }});
  rpcs.push_back({"WatchEvents", Kind::kViewerAnyApp, [this](AuthFixture& fixture,
                                                             const Caller& caller) {
                    grpc::ClientContext context;
                    fixture.Prepare(caller, context);
                    auto reader = Controller(caller)->WatchEvents(&context, v1::WatchEventsRequest());
                    v1::FleetEvent event;
                    while (reader->Read(&event)) {
                    }
                    return reader->Finish();
                  }});
  rpcs.push_back({"Connect", Kind::kAgent, [this](AuthFixture& fixture, const Caller& caller) {
                    grpc::ClientContext context;
                    fixture.Prepare(caller, context);
                    auto stream = Agent(caller)->Connect(&context);
                    v1::AgentMessage hello;
                    hello.mutable_hello()->set_agent_version("matrix");
                    stream->Write(hello);
                    v1::ControllerMessage welcome;
                    if (stream->Read(&welcome) && welcome.has_welcome()) {
                      context.TryCancel();
                      stream->Finish().IgnoreError();
                      // The controller ends the session after the client
                      // does; what it writes then belongs to this cell, not
                      // to the next one's "before".
                      fixture.WaitUntilSessionOfHostEnded(caller.host);
                      return grpc::Status::OK;
                    }
                    return stream->Finish();
                  }});
  rpcs.push_back({"RenewCertificate", Kind::kAgent, [this](AuthFixture& fixture,
                                                           const Caller& caller) {
                    absl::StatusOr<std::string> key = tls::GeneratePrivateKeyPem();
                    absl::StatusOr<std::string> csr =
                        tls::MakeCertificateRequestPem(key.value_or(""), "renewed");
                    v1::RenewCertificateRequest request;
                    request.set_csr_pem(csr.value_or(""));
                    grpc::ClientContext context;
                    fixture.Prepare(caller, context);
                    v1::EnrollResponse response;
                    return Agent(caller)->RenewCertificate(&context, request, &response);
                  }});
  rpcs.push_back({"Enroll", Kind::kEnrollWithUsedToken, [this](AuthFixture& fixture,
                                                               const Caller& caller) {
                    absl::StatusOr<std::string> key = tls::GeneratePrivateKeyPem();
                    v1::EnrollRequest request;
                    request.set_token(used_enrollment_token_);
                    request.set_csr_pem(
                        tls::MakeCertificateRequestPem(key.value_or(""), "host-a").value_or(""));
                    grpc::ClientContext context;
                    fixture.Prepare(caller, context);
                    v1::EnrollResponse response;
                    return Agent(caller)->Enroll(&context, request, &response);
                  }});
  return rpcs;
}

TEST_F(AuthMatrixTest, EveryRpcTimesEveryCallerIsAllowedOrRefusedAsWrittenAndRefusalsChangeNothing) {
  StoreApp(kAppYaml);
  {
    absl::StatusOr<controller::auth::NewEnrollmentToken> token =
        access_->registry().CreateEnrollmentToken("host-u", {}, absl::Hours(1));
    ASSERT_TRUE(token.ok()) << token.status();
    used_enrollment_token_ = token->text;
    ASSERT_TRUE(access_->registry()
                    .Enroll(token->text, *tls::MakeCertificateRequestPem(
                                             *tls::GeneratePrivateKeyPem(), "host-u"))
                    .ok());
  }
  const Caller none{"no credential", "", "", ""};
  const Caller agent_a = EnrollAgent("host-a", {{"role", "a"}});
  const Caller agent_b = EnrollAgent("host-b", {{"role", "b"}});
  const Caller viewer = Operator("viewer", v1::ROLE_VIEWER);
  const Caller scoped = Operator("scoped", v1::ROLE_DEPLOYER, {"other-*"});
  const Caller deployer = Operator("deployer", v1::ROLE_DEPLOYER);
  const Caller admin = Operator("admin", v1::ROLE_ADMIN);
  Caller revoked_token = Operator("revoked", v1::ROLE_ADMIN);
  ASSERT_TRUE(access_->registry().RevokeToken("revoked").ok());
  revoked_token.name = "revoked admin token";
  Caller revoked_agent = EnrollAgent("host-c", {{"role", "a"}});
  ASSERT_TRUE(access_->registry().RevokeHost("host-c").ok());
  revoked_agent.name = "revoked agent certificate";

  // An agent certificate from another pyservice controller's CA: the right
  // shape, the wrong issuer.
  absl::StatusOr<std::unique_ptr<tls::CertificateAuthority>> foreign_ca =
      tls::CertificateAuthority::LoadOrCreate(dir_.Join("foreign-ca"), "pyservice agents", clock_);
  ASSERT_TRUE(foreign_ca.ok()) << foreign_ca.status();
  absl::StatusOr<std::string> foreign_key = tls::GeneratePrivateKeyPem();
  ASSERT_TRUE(foreign_key.ok());
  absl::StatusOr<tls::IssuedCertificate> foreign_cert = (*foreign_ca)->Issue(
      *tls::MakeCertificateRequestPem(*foreign_key, "host-a"), "host-a", absl::Hours(1));
  ASSERT_TRUE(foreign_cert.ok()) << foreign_cert.status();
  const Caller foreign{"foreign CA certificate", dir_.Join("foreign.crt"), dir_.Join("foreign.key"),
                      ""};
  WritePrivateFile(foreign.cert_file, foreign_cert->certificate_pem);
  WritePrivateFile(foreign.key_file, *foreign_key);

  auto operator_column = [](std::vector<Kind> allowed) {
    return [allowed](Kind kind) {
      if (kind == Kind::kAgent) return Expect::kDenied;
      for (Kind k : allowed) {
        if (k == kind) return Expect::kAllowed;
      }
      return Expect::kDenied;
    };
  };
  const std::vector<std::pair<Caller, std::function<Expect(Kind)>>> columns = {
      {none, [](Kind) { return Expect::kUnauthenticated; }},
      {agent_a, [](Kind kind) { return kind == Kind::kAgent ? Expect::kAllowed : Expect::kDenied; }},
      {agent_b, [](Kind kind) { return kind == Kind::kAgent ? Expect::kAllowed : Expect::kDenied; }},
      {viewer, operator_column({Kind::kViewerOnApp, Kind::kViewerAnyApp})},
      {scoped, operator_column({Kind::kViewerAnyApp})},
      {deployer, operator_column({Kind::kViewerOnApp, Kind::kViewerAnyApp, Kind::kDeployerOnApp})},
      {admin, operator_column({Kind::kViewerOnApp, Kind::kViewerAnyApp, Kind::kDeployerOnApp,
                               Kind::kAdmin})},
      {foreign, [](Kind) { return Expect::kUnauthenticated; }},
      {revoked_token, [](Kind) { return Expect::kUnauthenticated; }},
      {revoked_agent, [](Kind) { return Expect::kUnauthenticated; }},
  };

  int refused = 0, allowed = 0;
  for (const Rpc& rpc : Rpcs()) {
    for (const auto& [caller, expect_of] : columns) {
      const Expect expect =
          rpc.kind == Kind::kEnrollWithUsedToken ? Expect::kUnauthenticated : expect_of(rpc.kind);
      // What earlier allowed calls wrote must be in before the snapshot
      // (host records are written behind, in batches).
      fleet_->WaitForReconcile();
      fleet_->FlushHostRecords();
      const std::string before = expect == Expect::kAllowed ? "" : DumpStore();
      const grpc::Status status = rpc.call(*this, caller);
      const std::string cell = absl::StrCat(rpc.name, " as ", caller.name, ": expected ",
                                            ExpectName(expect), ", got ", status.error_code(),
                                            " \"", status.error_message(), "\"");
      switch (expect) {
        case Expect::kAllowed:
          EXPECT_NE(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << cell;
          EXPECT_NE(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << cell;
          EXPECT_NE(status.error_code(), grpc::StatusCode::UNAVAILABLE) << cell;
          ++allowed;
          continue;
        case Expect::kUnauthenticated:
          EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << cell;
          break;
        case Expect::kDenied:
          EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << cell;
          break;
      }
      // Every refusal says why.
      EXPECT_FALSE(status.error_message().empty()) << cell;
      EXPECT_EQ(DumpStore(), before) << cell << ": the refused call changed the store";
      ++refused;
    }
  }
  // 25 RPCs × 10 callers, counted so that a shrinking table shows.
  EXPECT_EQ(allowed + refused, 25 * 10);
  EXPECT_GT(refused, 150);
}

}  // namespace pyservice::testing
