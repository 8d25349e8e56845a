// The node authorizer and the agents' credentials, over real TLS: an agent
// gets only what targets it (labels bound at enrollment, never taken from
// its Hello), speaks only for its own host, loses its stream the moment it
// is revoked; enrollment tokens are single-use, expiring and bind the name;
// operator tokens expire; and every RPC has a row in the policy.
#include <filesystem>
#include <memory>
#include <string>

#include <grpcpp/client_context.h>
#include <google/protobuf/descriptor.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/tls/pki.h"
#include "controller/auth/policy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/auth/auth_fixture.h"
#include "tests/testing/fake_agent.h"

namespace pyservice::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kSecret[] = "TOPSECRET-only-for-host-b-7f3a";

// An app for hosts labelled role=b only, with a secret file and a secret
// config value.
std::string SecretAppYaml() {
  return absl::StrCat(
      "name: secret-b\nrepo: file:///srv/git/secret.git\ntag: v1\n"
      "services:\n  - name: web\n    command: \"python -m secret web\"\n"
      "files:\n  - dest: \"{{ app_config_dir }}/token\"\n    content: \"",
      kSecret, "\"\n", "targets:\n  labels: {role: b}\n");
}

class AuthNodeTest : public AuthFixture {
 protected:
  std::unique_ptr<FakeAgent> StartAgent(const Caller& caller, const std::string& host,
                                        std::map<std::string, std::string> claimed_labels = {}) {
    FakeAgentOptions options;
    options.address = address_;
    options.host = host;
    options.labels = std::move(claimed_labels);
    options.credentials = Credentials(caller);
    absl::StatusOr<std::unique_ptr<FakeAgent>> agent = FakeAgent::Start(options);
    EXPECT_TRUE(agent.ok()) << agent.status();
    return agent.ok() ? *std::move(agent) : nullptr;
  }

  grpc::Status Renew(const Caller& caller) {
    v1::RenewCertificateRequest request;
    request.set_csr_pem(*tls::MakeCertificateRequestPem(*tls::GeneratePrivateKeyPem(), "x"));
    grpc::ClientContext context;
    Prepare(caller, context);
    v1::EnrollResponse response;
    return v1::AgentService::NewStub(Channel(caller))->RenewCertificate(&context, request, &response);
  }

  absl::StatusOr<v1::EnrollResponse> Enroll(const std::string& token, const std::string& csr) {
    v1::EnrollRequest request;
    request.set_token(token);
    request.set_csr_pem(csr);
    grpc::ClientContext context;
    Prepare(Caller{}, context);
    v1::EnrollResponse response;
    const grpc::Status status =
        v1::AgentService::NewStub(Channel(Caller{}))->Enroll(&context, request, &response);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          status.error_message());
    }
    return response;
  }
};

TEST_F(AuthNodeTest, AgentGetsNoByteOfAnAppThatTargetsOnlyAnotherHostEvenClaimingItsLabels) {
  const Caller a = EnrollAgent("host-a", {{"role", "a"}});
  const Caller b = EnrollAgent("host-b", {{"role", "b"}});
  // A claims B's label in its Hello: the label bound at its enrollment
  // (role=a) is what counts.
  std::unique_ptr<FakeAgent> agent_a = StartAgent(a, "host-a", {{"role", "b"}});
  std::unique_ptr<FakeAgent> agent_b = StartAgent(b, "host-b");
  ASSERT_TRUE(agent_a->WaitForWelcome().ok());
  ASSERT_TRUE(agent_b->WaitForWelcome().ok());
  StoreApp(SecretAppYaml());

  // B, which the app targets, gets the secret (the positive control)...
  absl::StatusOr<v1::DeployRequest> deploy = agent_b->WaitForDeploy("secret-b");
  ASSERT_TRUE(deploy.ok()) << deploy.status();
  EXPECT_THAT(deploy->spec().DebugString(), HasSubstr(kSecret));
  ASSERT_TRUE(agent_b->WaitForRevision("secret-b", 1).ok());
  fleet_->WaitForReconcile();

  // ... and A gets nothing of it: no deploy, not one byte of the secret.
  EXPECT_FALSE(agent_a->WaitForDeploy("secret-b", 0, absl::Seconds(2)).ok());
  for (const v1::ControllerMessage& message : agent_a->received()) {
    EXPECT_FALSE(absl::StrContains(message.SerializeAsString(), kSecret)) << message.DebugString();
    EXPECT_FALSE(absl::StrContains(message.SerializeAsString(), "secret-b"))
        << message.DebugString();
  }
  const std::optional<controller::fleet::HostView> view = fleet_->registry().GetHost("host-a");
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->labels, (std::map<std::string, std::string>{{"role", "a"}}));
}

TEST_F(AuthNodeTest, AnAgentCannotSpeakForAnotherHost) {
  const Caller a = EnrollAgent("host-a", {{"role", "a"}});
  std::unique_ptr<FakeAgent> impostor = StartAgent(a, "host-b");
  absl::StatusOr<grpc::Status> ended = impostor->WaitForEnd();
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_EQ(ended->error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(ended->error_message(), HasSubstr("host-a"));
  EXPECT_FALSE(fleet_->registry().GetHost("host-b").has_value());
}

TEST_F(AuthNodeTest, RevokingAHostEndsItsLiveStreamAndItCanNeitherReconnectNorRenewUntilEnrolledAgain) {
  const Caller a = EnrollAgent("host-a", {{"role", "a"}});
  std::unique_ptr<FakeAgent> agent = StartAgent(a, "host-a");
  ASSERT_TRUE(agent->WaitForWelcome().ok());
  ASSERT_TRUE(Renew(a).ok());

  const Caller admin = Operator("admin", v1::ROLE_ADMIN);
  v1::RevokeHostRequest request;
  request.set_name("host-a");
  grpc::ClientContext context;
  Prepare(admin, context);
  v1::RevokeHostResponse response;
  ASSERT_TRUE(
      v1::ControllerService::NewStub(Channel(admin))->RevokeHost(&context, request, &response).ok());
  // The enrollment's certificate and the renewed one.
  EXPECT_EQ(response.certificates(), 2u);

  absl::StatusOr<grpc::Status> ended = agent->WaitForEnd();
  ASSERT_TRUE(ended.ok()) << "the live stream was not ended: " << ended.status();
  EXPECT_EQ(ended->error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(ended->error_message(), HasSubstr("revoked"));

  std::unique_ptr<FakeAgent> again = StartAgent(a, "host-a");
  absl::StatusOr<grpc::Status> refused = again->WaitForEnd();
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Renew(a).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // Enrolled again with a new token, the host is back: a new certificate
  // connects; the revoked one stays refused.
  Caller revoked = a;
  revoked.cert_file = dir_.Join("revoked.crt");
  revoked.key_file = dir_.Join("revoked.key");
  std::filesystem::copy_file(a.cert_file, revoked.cert_file);
  std::filesystem::copy_file(a.key_file, revoked.key_file);
  const Caller back = EnrollAgent("host-a", {{"role", "a"}});
  std::unique_ptr<FakeAgent> returned = StartAgent(back, "host-a");
  EXPECT_TRUE(returned->WaitForWelcome().ok());
  std::unique_ptr<FakeAgent> old = StartAgent(revoked, "host-a");
  absl::StatusOr<grpc::Status> still_refused = old->WaitForEnd();
  ASSERT_TRUE(still_refused.ok()) << still_refused.status();
  EXPECT_EQ(still_refused->error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthNodeTest, EnrollmentBindsTheTokensNameAndLabelsAndTheTokenWorksOnce) {
  absl::StatusOr<controller::auth::NewEnrollmentToken> token =
      access_->registry().CreateEnrollmentToken("web-7", {{"role", "web"}}, absl::Hours(1));
  ASSERT_TRUE(token.ok()) << token.status();
  const std::string key = *tls::GeneratePrivateKeyPem();

  // A bad request does not use the token up.
  absl::StatusOr<v1::EnrollResponse> bad = Enroll(token->text, "not a CSR");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << bad.status();

  // The request asks for another name: the certificate names the token's.
  absl::StatusOr<v1::EnrollResponse> enrolled =
      Enroll(token->text, *tls::MakeCertificateRequestPem(key, "db-1"));
  ASSERT_TRUE(enrolled.ok()) << enrolled.status();
  EXPECT_EQ(enrolled->host(), "web-7");
  EXPECT_EQ(enrolled->labels().at("role"), "web");
  absl::StatusOr<tls::CertificateInfo> info = tls::ParseCertificate(enrolled->certificate_pem());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->common_name, "web-7");
  EXPECT_EQ(enrolled->ca_pem(), access_->ca_certificate_pem());

  absl::StatusOr<v1::EnrollResponse> twice =
      Enroll(token->text, *tls::MakeCertificateRequestPem(key, "web-7"));
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(twice.status().message(), HasSubstr("already used"));
}

TEST_F(AuthNodeTest, ExpiredOrMisplacedTokensAreRefusedSayingWhy) {
  absl::StatusOr<controller::auth::NewEnrollmentToken> enrollment =
      access_->registry().CreateEnrollmentToken("web-8", {}, absl::Hours(1));
  ASSERT_TRUE(enrollment.ok());
  const Caller viewer = Operator("viewer", v1::ROLE_VIEWER);
  Caller short_lived{"short-lived token", "", "", ""};
  {
    absl::StatusOr<controller::auth::NewToken> token =
        access_->registry().CreateToken("short", v1::ROLE_VIEWER, {}, absl::Minutes(30));
    ASSERT_TRUE(token.ok());
    short_lived.token = token->text;
  }
  const std::string csr = *tls::MakeCertificateRequestPem(*tls::GeneratePrivateKeyPem(), "web-8");

  // An operator token where an enrollment token belongs, and the reverse.
  absl::StatusOr<v1::EnrollResponse> misplaced = Enroll(viewer.token, csr);
  EXPECT_EQ(misplaced.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(misplaced.status().message(), HasSubstr("operator token"));
  {
    grpc::ClientContext context;
    Prepare(Caller{"", "", "", enrollment->text}, context);
    v1::WhoAmIResponse response;
    const grpc::Status status = v1::ControllerService::NewStub(Channel(Caller{}))
                                    ->WhoAmI(&context, v1::WhoAmIRequest(), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_THAT(status.error_message(), HasSubstr("enrollment token"));
  }

  clock_.Advance(absl::Hours(2));
  absl::StatusOr<v1::EnrollResponse> expired = Enroll(enrollment->text, csr);
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(expired.status().message(), HasSubstr("expired"));
  grpc::ClientContext context;
  Prepare(short_lived, context);
  v1::WhoAmIResponse response;
  const grpc::Status status = v1::ControllerService::NewStub(Channel(short_lived))
                                  ->WhoAmI(&context, v1::WhoAmIRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("expired"));
}

TEST(AuthPolicyTest, EveryRpcOfBothServicesHasARowAndEveryRowAnRpc) {
  int rpcs = 0;
  for (const char* name : {"pyservice.v1.ControllerService", "pyservice.v1.AgentService"}) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) {
      ++rpcs;
      EXPECT_NE(controller::auth::FindPolicy(service->full_name(), service->method(i)->name()),
                nullptr)
          << service->full_name() << "/" << service->method(i)->name()
          << " has no row in controller/auth/policy.cc";
    }
  }
  EXPECT_EQ(controller::auth::AllPolicies().size(), static_cast<size_t>(rpcs));
}

}  // namespace
}  // namespace pyservice::testing
