// Transport security end to end: the real pyservice-controller binary with
// TLS, the real pyctl binary with operator tokens, fake agents over real
// gRPC that enroll for a certificate from the controller's own CA (the real
// Enroll RPC, with a token from `pyctl host enroll-token`) and connect with
// it, server certificates made at test time by deploy/tls/make-test-ca.sh,
// and the plaintext rule at the programs' startup.
#include <signal.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/create_channel.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/process/subprocess.h"
#include "common/tls/credentials.h"
#include "common/tls/pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pyservice/v1/agent.grpc.pb.h"
#include "tests/common/tls/test_pki.h"
#include "tests/integration/controller_harness.h"
#include "tests/testing/fake_agent.h"
#include "tests/testing/temp_dir.h"

namespace pyservice {
namespace {

using ::pyservice::testing::ControllerHarness;
using ::pyservice::testing::FakeAgent;
using ::pyservice::testing::FakeAgentOptions;
using ::pyservice::tls::testing::GetTestPki;
using ::pyservice::tls::testing::kHostName;
using ::pyservice::tls::testing::TestPki;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// pyctl with `args` and the environment `extra_env` on top of ours minus
// every PYCTL_ variable.
ProcessResult Pyctl(const std::vector<std::string>& args,
                    const std::vector<std::string>& extra_env = {}) {
  ProcessOptions options;
  options.argv = {PYCTL_BIN};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (!absl::StartsWith(*entry, "PYCTL_")) env.emplace_back(*entry);
  }
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  options.env = std::move(env);
  absl::StatusOr<ProcessResult> result = RunProcess(options);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : ProcessResult{};
}

// Channel credentials for a fake agent; fails the test on error.
std::shared_ptr<grpc::ChannelCredentials> AgentCredentials(
    const std::string& ca, const std::string& cert, const std::string& key) {
  tls::TlsClientOptions options;
  options.ca_file = ca;
  options.cert_file = cert;
  options.key_file = key;
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      tls::MakeChannelCredentials(options);
  EXPECT_TRUE(credentials.ok()) << credentials.status();
  return credentials.ok() ? *credentials : nullptr;
}

// An agent's certificate and key files.
struct AgentFiles {
  std::string cert;
  std::string key;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::StatusOr<TestPki>& pki = GetTestPki();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *pki;
  }

  // The controller on a Unix socket, 127.0.0.1:0 and its admin socket,
  // serving TLS with make-test-ca's server certificate; agents' client
  // certificates come from its own CA (DATA_DIR/ca). Then an admin token
  // for pyctl over TCP.
  void StartController() {
    absl::Status started =
        controller_.Start({"--tls-cert", pki_.server_crt(), "--tls-key", pki_.server_key()});
    ASSERT_TRUE(started.ok()) << started << "\n" << controller_.Stderr();
    absl::StatusOr<std::string> token_file = controller_.CreateTokenFile("tls-test");
    ASSERT_TRUE(token_file.ok()) << token_file.status();
    token_file_ = *token_file;
  }

  // pyctl over TLS on TCP with the admin token.
  std::vector<std::string> OperatorFlags() const {
    return {"--controller", controller_.tcp_address(), "--tls-ca", pki_.ca_crt(),
            "--token-file", token_file_};
  }

  ProcessResult OperatorPyctl(const std::vector<std::string>& args) const {
    std::vector<std::string> all = OperatorFlags();
    all.insert(all.end(), args.begin(), args.end());
    return Pyctl(all);
  }

  // Enrolls `host` as an agent does: a token from `pyctl host enroll-token
  // HOST --label ...`, a key made here and the real Enroll RPC over TLS
  // without a client certificate. The issued certificate and the key are
  // written to DIR/HOST.crt and DIR/HOST.key.
  absl::StatusOr<AgentFiles> Enroll(const std::string& host,
                                    const std::vector<std::string>& labels = {}) {
    absl::StatusOr<std::string> token = controller_.CreateEnrollmentToken(host, labels);
    if (!token.ok()) return token.status();
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
    request.set_token(*token);
    request.set_csr_pem(*csr);
    v1::EnrollResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    const grpc::Status status =
        v1::AgentService::NewStub(grpc::CreateChannel(controller_.tcp_address(), *credentials))
            ->Enroll(&context, request, &response);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          absl::StrCat("Enroll ", host, ": ", status.error_message()));
    }
    AgentFiles files{dir_.Join(host + ".crt"), dir_.Join(host + ".key")};
    if (absl::Status written = testing::WriteOwnerOnlyFile(files.key, *key); !written.ok()) {
      return written;
    }
    if (absl::Status written = testing::WriteOwnerOnlyFile(files.cert, response.certificate_pem());
        !written.ok()) {
      return written;
    }
    return files;
  }

  absl::StatusOr<std::unique_ptr<FakeAgent>> StartAgent(
      const std::string& claimed_host, const std::string& cert, const std::string& key,
      const std::map<std::string, std::string>& claimed_labels = {}) {
    FakeAgentOptions options;
    options.address = controller_.tcp_address();
    options.host = claimed_host;
    options.labels = claimed_labels;
    options.credentials = AgentCredentials(pki_.ca_crt(), cert, key);
    return FakeAgent::Start(std::move(options));
  }

  TestPki pki_;
  testing::TempDir dir_;
  ControllerHarness controller_{dir_.path()};
  std::string token_file_;
};

TEST_F(TlsTest, PyctlWithTheCaTalksToATlsController) {
  StartController();
  const ProcessResult result = OperatorPyctl({"get", "hosts", "-o", "json"});
  EXPECT_TRUE(result.Succeeded()) << result.stderr_text;
  EXPECT_EQ(result.stdout_text, "[]\n");
}

TEST_F(TlsTest, PyctlTakesTlsFilesAndTokenFromTheEnvironment) {
  StartController();
  const ProcessResult with_file = Pyctl(
      {"get", "hosts", "-o", "json"},
      {"PYCTL_CONTROLLER=" + controller_.tcp_address(), "PYCTL_TLS_CA=" + pki_.ca_crt(),
       "PYCTL_TOKEN_FILE=" + token_file_});
  EXPECT_TRUE(with_file.Succeeded()) << with_file.stderr_text;
  absl::StatusOr<std::string> token = controller_.CreateToken("from-env", "viewer");
  ASSERT_TRUE(token.ok()) << token.status();
  const ProcessResult with_token = Pyctl(
      {"get", "hosts", "-o", "json"},
      {"PYCTL_CONTROLLER=" + controller_.tcp_address(), "PYCTL_TLS_CA=" + pki_.ca_crt(),
       "PYCTL_TOKEN=" + *token});
  EXPECT_TRUE(with_token.Succeeded()) << with_token.stderr_text;
}

TEST_F(TlsTest, PyctlWithoutTheCaFailsWithAClearMessage) {
  StartController();
  const ProcessResult result =
      Pyctl({"--controller", controller_.tcp_address(), "--token-file", token_file_, "get",
             "hosts"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_text,
              AllOf(HasSubstr("pyctl: controller unreachable at " +
                              controller_.tcp_address()),
                    HasSubstr("--tls-ca")));
  // One line: scripts show it as is.
  EXPECT_EQ(std::count(result.stderr_text.begin(), result.stderr_text.end(), '\n'), 1)
      << result.stderr_text;
}

TEST_F(TlsTest, PyctlWithTheWrongCaFails) {
  StartController();
  const ProcessResult result =
      Pyctl({"--controller", controller_.tcp_address(), "--tls-ca", pki_.wrong_ca_crt(),
             "--token-file", token_file_, "get", "hosts"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_text,
              AllOf(HasSubstr("controller unreachable at"),
                    HasSubstr(pki_.wrong_ca_crt())));
}

TEST_F(TlsTest, PyctlNamesAMissingTlsFile) {
  StartController();
  const std::string missing = dir_.Join("nope.crt");
  const ProcessResult result =
      Pyctl({"--controller", controller_.tcp_address(), "--tls-ca", missing,
             "get", "hosts"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_text, AllOf(HasSubstr("pyctl: "), HasSubstr(missing)));
}

// TLS alone is not a credential: the operator API needs a token on every
// listener but the admin socket (which serves plaintext, for local root).
TEST_F(TlsTest, OperatorApiOverTlsNeedsAToken) {
  StartController();
  for (const std::string& address : {controller_.tcp_address(), controller_.unix_address()}) {
    const ProcessResult without =
        Pyctl({"--controller", address, "--tls-ca", pki_.ca_crt(), "get", "hosts"});
    EXPECT_EQ(without.exit_code, 1) << address;
    EXPECT_THAT(without.stderr_text,
                AllOf(HasSubstr("pyctl: not authenticated: "), HasSubstr("--token-file")))
        << address;
    const ProcessResult with = Pyctl({"--controller", address, "--tls-ca", pki_.ca_crt(),
                                      "--token-file", token_file_, "get", "hosts"});
    EXPECT_TRUE(with.Succeeded()) << address << ": " << with.stderr_text;
  }
  const ProcessResult local_root =
      Pyctl({"--controller", controller_.admin_address(), "get", "hosts"});
  EXPECT_TRUE(local_root.Succeeded()) << local_root.stderr_text;
}

TEST_F(TlsTest, EnrolledAgentRegistersUnderItsCertificateNameWithTheTokensLabels) {
  StartController();
  absl::StatusOr<AgentFiles> files = Enroll(kHostName, {"role=web"});
  ASSERT_TRUE(files.ok()) << files.status() << "\n" << controller_.Stderr();
  // No name in Hello: the certificate's is taken. The labels it claims do
  // not count: the enrollment token's do.
  absl::StatusOr<std::unique_ptr<FakeAgent>> agent =
      StartAgent("", files->cert, files->key, {{"role", "db"}});
  ASSERT_TRUE(agent.ok()) << agent.status();
  absl::StatusOr<v1::Welcome> welcome = (*agent)->WaitForWelcome();
  ASSERT_TRUE(welcome.ok()) << welcome.status() << "\n" << controller_.Stderr();
  EXPECT_EQ(welcome->host(), kHostName);

  const ProcessResult hosts = OperatorPyctl({"get", "hosts", "-o", "json"});
  ASSERT_TRUE(hosts.Succeeded()) << hosts.stderr_text;
  EXPECT_THAT(hosts.stdout_text,
              AllOf(HasSubstr(absl::StrCat("\"name\": \"", kHostName, "\"")),
                    HasSubstr("\"connected\": true"), HasSubstr("\"role\": \"web\""),
                    Not(HasSubstr("\"db\""))));
}

TEST_F(TlsTest, EnrolledAgentNamingItselfByItsCertificateIsWelcome) {
  StartController();
  absl::StatusOr<AgentFiles> files = Enroll(kHostName);
  ASSERT_TRUE(files.ok()) << files.status();
  absl::StatusOr<std::unique_ptr<FakeAgent>> agent =
      StartAgent(kHostName, files->cert, files->key);
  ASSERT_TRUE(agent.ok()) << agent.status();
  absl::StatusOr<v1::Welcome> welcome = (*agent)->WaitForWelcome();
  ASSERT_TRUE(welcome.ok()) << welcome.status();
  EXPECT_EQ(welcome->host(), kHostName);
}

TEST_F(TlsTest, EnrollmentTokenIsSingleUse) {
  StartController();
  absl::StatusOr<std::string> token = controller_.CreateEnrollmentToken(kHostName);
  ASSERT_TRUE(token.ok()) << token.status();
  tls::TlsClientOptions options;
  options.ca_file = pki_.ca_crt();
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      tls::MakeChannelCredentials(options);
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  auto stub =
      v1::AgentService::NewStub(grpc::CreateChannel(controller_.tcp_address(), *credentials));
  std::vector<grpc::Status> results;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::string> key = tls::GeneratePrivateKeyPem();
    ASSERT_TRUE(key.ok()) << key.status();
    absl::StatusOr<std::string> csr = tls::MakeCertificateRequestPem(*key, kHostName);
    ASSERT_TRUE(csr.ok()) << csr.status();
    v1::EnrollRequest request;
    request.set_token(*token);
    request.set_csr_pem(*csr);
    v1::EnrollResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    results.push_back(stub->Enroll(&context, request, &response));
  }
  EXPECT_TRUE(results[0].ok()) << results[0].error_message();
  EXPECT_EQ(results[1].error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << results[1].error_message();
  EXPECT_THAT(results[1].error_message(), HasSubstr("used"));
}

TEST_F(TlsTest, HelloClaimingAnotherHostIsPermissionDenied) {
  StartController();
  absl::StatusOr<AgentFiles> files = Enroll(kHostName);
  ASSERT_TRUE(files.ok()) << files.status();
  absl::StatusOr<std::unique_ptr<FakeAgent>> agent =
      StartAgent("web-2", files->cert, files->key);
  ASSERT_TRUE(agent.ok()) << agent.status();
  absl::StatusOr<grpc::Status> end = (*agent)->WaitForEnd();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(end->error_message(),
              AllOf(HasSubstr("web-2"), HasSubstr(kHostName)));

  const ProcessResult hosts = OperatorPyctl({"get", "hosts", "-o", "json"});
  ASSERT_TRUE(hosts.Succeeded()) << hosts.stderr_text;
  EXPECT_THAT(hosts.stdout_text, Not(HasSubstr("web-2")));
}

// A certificate the TLS layer would accept from make-test-ca's CA (the one
// the controller's server certificate chains to) is still not an agent's:
// only the controller's own CA issues those.
TEST_F(TlsTest, AgentCertificateFromAnotherCaIsUnauthenticated) {
  StartController();
  absl::StatusOr<std::unique_ptr<FakeAgent>> agent =
      StartAgent(kHostName, pki_.client_crt(kHostName), pki_.client_key(kHostName));
  ASSERT_TRUE(agent.ok()) << agent.status();
  absl::StatusOr<v1::Welcome> welcome = (*agent)->WaitForWelcome();
  ASSERT_FALSE(welcome.ok());
  EXPECT_EQ(welcome.status().code(), absl::StatusCode::kUnauthenticated) << welcome.status();

  const ProcessResult hosts = OperatorPyctl({"get", "hosts", "-o", "json"});
  ASSERT_TRUE(hosts.Succeeded()) << hosts.stderr_text;
  EXPECT_EQ(hosts.stdout_text, "[]\n");
}

TEST_F(TlsTest, AgentWithoutCertificateIsUnauthenticated) {
  StartController();
  absl::StatusOr<std::unique_ptr<FakeAgent>> agent = StartAgent(kHostName, "", "");
  ASSERT_TRUE(agent.ok()) << agent.status();
  absl::StatusOr<v1::Welcome> welcome = (*agent)->WaitForWelcome();
  ASSERT_FALSE(welcome.ok());
  EXPECT_EQ(welcome.status().code(), absl::StatusCode::kUnauthenticated) << welcome.status();
  EXPECT_THAT(welcome.status().message(), HasSubstr("enroll"));
}

TEST_F(TlsTest, RevokedHostIsDisconnectedAndRefusedAfterwards) {
  StartController();
  absl::StatusOr<AgentFiles> files = Enroll(kHostName);
  ASSERT_TRUE(files.ok()) << files.status();
  absl::StatusOr<std::unique_ptr<FakeAgent>> agent = StartAgent("", files->cert, files->key);
  ASSERT_TRUE(agent.ok()) << agent.status();
  ASSERT_TRUE((*agent)->WaitForWelcome().ok());

  const ProcessResult revoked = OperatorPyctl({"host", "revoke", kHostName});
  ASSERT_TRUE(revoked.Succeeded()) << revoked.stderr_text;
  absl::StatusOr<grpc::Status> end = (*agent)->WaitForEnd();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_FALSE(end->ok());

  absl::StatusOr<std::unique_ptr<FakeAgent>> again = StartAgent("", files->cert, files->key);
  ASSERT_TRUE(again.ok()) << again.status();
  absl::StatusOr<v1::Welcome> welcome = (*again)->WaitForWelcome();
  ASSERT_FALSE(welcome.ok());
  EXPECT_EQ(welcome.status().code(), absl::StatusCode::kUnauthenticated) << welcome.status();
}

// The plaintext rule at startup.

TEST(PlaintextRuleTest, ControllerRefusesPlaintextOnANonLoopbackAddress) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<testing::ChildProcess>> controller =
      testing::StartControllerProcess(
          {"--listen", "0.0.0.0:0", "--data-dir", dir.Join("data")}, dir.path(),
          "controller");
  ASSERT_TRUE(controller.ok()) << controller.status();
  absl::StatusOr<testing::ExitStatus> exit =
      (*controller)->WaitForExit(testing::kStartTimeout);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->exit_code, 2) << exit->Describe();
  EXPECT_THAT((*controller)->ReadStderr(),
              AllOf(HasSubstr("refusing plaintext gRPC on \"0.0.0.0:0\""),
                    HasSubstr("--insecure")));
}

TEST(PlaintextRuleTest, ControllerServesPlaintextEverywhereWithInsecure) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<testing::ChildProcess>> controller =
      testing::StartControllerProcess({"--listen", "0.0.0.0:0", "--insecure",
                                       "--data-dir", dir.Join("data")},
                                      dir.path(), "controller");
  ASSERT_TRUE(controller.ok()) << controller.status();
  absl::StatusOr<std::string> line = (*controller)->WaitForStderrLine(
      "listening on 0.0.0.0:", testing::kStartTimeout);
  ASSERT_TRUE(line.ok()) << line.status() << "\n" << (*controller)->ReadStderr();
  EXPECT_THAT((*controller)->ReadStderr(), HasSubstr("--insecure"));
  ASSERT_TRUE((*controller)->Signal(SIGTERM).ok());
  absl::StatusOr<testing::ExitStatus> exit =
      (*controller)->WaitForExit(testing::kStartTimeout);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->exit_code, 0) << exit->Describe();
}

TEST(PlaintextRuleTest, ControllerRefusesAHalfTlsConfiguration) {
  testing::TempDir dir;
  const absl::StatusOr<TestPki>& pki = GetTestPki();
  ASSERT_TRUE(pki.ok()) << pki.status();
  absl::StatusOr<std::unique_ptr<testing::ChildProcess>> controller =
      testing::StartControllerProcess({"--listen", "127.0.0.1:0", "--tls-cert",
                                       pki->server_crt(), "--data-dir",
                                       dir.Join("data")},
                                      dir.path(), "controller");
  ASSERT_TRUE(controller.ok()) << controller.status();
  absl::StatusOr<testing::ExitStatus> exit =
      (*controller)->WaitForExit(testing::kStartTimeout);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->exit_code, 2) << exit->Describe();
  EXPECT_THAT((*controller)->ReadStderr(), HasSubstr("--tls-key"));
}

// Mutual TLS is enrolled agent certificates now (and tokens for
// operators): the old flag is refused, saying what replaced it.
TEST(PlaintextRuleTest, ControllerRefusesTheRemovedClientCaFlag) {
  testing::TempDir dir;
  const absl::StatusOr<TestPki>& pki = GetTestPki();
  ASSERT_TRUE(pki.ok()) << pki.status();
  absl::StatusOr<std::unique_ptr<testing::ChildProcess>> controller =
      testing::StartControllerProcess(
          {"--listen", "127.0.0.1:0", "--tls-cert", pki->server_crt(), "--tls-key",
           pki->server_key(), "--client-ca", pki->ca_crt(), "--data-dir", dir.Join("data")},
          dir.path(), "controller");
  ASSERT_TRUE(controller.ok()) << controller.status();
  absl::StatusOr<testing::ExitStatus> exit =
      (*controller)->WaitForExit(testing::kStartTimeout);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->exit_code, 2) << exit->Describe();
  const std::string log = (*controller)->ReadStderr();
  EXPECT_THAT(log, AllOf(HasSubstr("--client-ca is gone"), HasSubstr("pyctl host enroll-token"),
                         HasSubstr("tokens")));
  EXPECT_THAT(log, Not(HasSubstr("listening on")));
}

TEST(PlaintextRuleTest, PyctlRefusesPlaintextToANonLoopbackAddress) {
  const ProcessResult result = Pyctl({"--controller", "192.0.2.1:7070", "get", "hosts"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_text,
              AllOf(HasSubstr("pyctl: refusing plaintext gRPC on \"192.0.2.1:7070\""),
                    HasSubstr("--insecure")));
}

TEST(PlaintextRuleTest, AgentRefusesPlaintextToANonLoopbackAddress) {
  testing::TempDir dir;
  ProcessOptions options;
  options.argv = {AGENT_BIN, "--controller", "192.0.2.1:7070", "--host", "h1",
                  "--state-dir", dir.Join("state")};
  absl::StatusOr<ProcessResult> result = RunProcess(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 2) << result->Describe();
  EXPECT_THAT(result->stderr_text,
              AllOf(HasSubstr("refusing plaintext gRPC on \"192.0.2.1:7070\""),
                    HasSubstr("--insecure")));
}

TEST(PlaintextRuleTest, AgentNamesAMissingTlsFile) {
  testing::TempDir dir;
  ProcessOptions options;
  options.argv = {AGENT_BIN, "--controller", "192.0.2.1:7070", "--host", "h1",
                  "--state-dir", dir.Join("state"), "--tls-ca", dir.Join("nope.crt")};
  absl::StatusOr<ProcessResult> result = RunProcess(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 2) << result->Describe();
  EXPECT_THAT(result->stderr_text, HasSubstr(dir.Join("nope.crt")));
}

}  // namespace
}  // namespace pyservice
