// Transport security end to end: the real pyservice-controller binary with
// TLS and mutual TLS, the real pyctl binary, fake agents over real gRPC with
// certificates made at test time by deploy/tls/make-test-ca.sh, and the
// plaintext rule at the programs' startup.
#include <signal.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/process/subprocess.h"
#include "common/tls/credentials.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
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
using ::pyservice::tls::testing::kOperatorName;
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

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::StatusOr<TestPki>& pki = GetTestPki();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *pki;
  }

  // The controller on a Unix socket and 127.0.0.1:0, with TLS (and mutual
  // TLS when `mutual`).
  void StartController(bool mutual) {
    std::vector<std::string> args = {"--tls-cert", pki_.server_crt(),
                                     "--tls-key", pki_.server_key()};
    if (mutual) {
      args.insert(args.end(), {"--client-ca", pki_.ca_crt()});
    }
    absl::Status started = controller_.Start(args);
    ASSERT_TRUE(started.ok()) << started << "\n" << controller_.Stderr();
  }

  std::vector<std::string> OperatorFlags() const {
    return {"--controller", controller_.tcp_address(), "--tls-ca",
            pki_.ca_crt(), "--tls-cert", pki_.client_crt(kOperatorName),
            "--tls-key", pki_.client_key(kOperatorName)};
  }

  absl::StatusOr<std::unique_ptr<FakeAgent>> StartAgent(
      const std::string& claimed_host, const std::string& cert,
      const std::string& key, const std::string& ca) {
    FakeAgentOptions options;
    options.address = controller_.tcp_address();
    options.host = claimed_host;
    options.credentials = AgentCredentials(ca, cert, key);
    return FakeAgent::Start(std::move(options));
  }

  TestPki pki_;
  testing::TempDir dir_;
  ControllerHarness controller_{dir_.path()};
};

TEST_F(TlsTest, PyctlWithTheCaTalksToATlsController) {
  StartController(/*mutual=*/false);
  const ProcessResult result =
      Pyctl({"--controller", controller_.tcp_address(), "--tls-ca",
             pki_.ca_crt(), "get", "hosts", "-o", "json"});
  EXPECT_TRUE(result.Succeeded()) << result.stderr_text;
  EXPECT_EQ(result.stdout_text, "[]\n");
}

TEST_F(TlsTest, PyctlTakesTlsFilesFromTheEnvironment) {
  StartController(/*mutual=*/true);
  const ProcessResult result = Pyctl(
      {"get", "hosts", "-o", "json"},
      {"PYCTL_CONTROLLER=" + controller_.tcp_address(),
       "PYCTL_TLS_CA=" + pki_.ca_crt(),
       "PYCTL_TLS_CERT=" + pki_.client_crt(kOperatorName),
       "PYCTL_TLS_KEY=" + pki_.client_key(kOperatorName)});
  EXPECT_TRUE(result.Succeeded()) << result.stderr_text;
}

TEST_F(TlsTest, PyctlWithoutTheCaFailsWithAClearMessage) {
  StartController(/*mutual=*/false);
  const ProcessResult result =
      Pyctl({"--controller", controller_.tcp_address(), "get", "hosts"});
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
  StartController(/*mutual=*/false);
  const ProcessResult result =
      Pyctl({"--controller", controller_.tcp_address(), "--tls-ca",
             pki_.wrong_ca_crt(), "get", "hosts"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_text,
              AllOf(HasSubstr("controller unreachable at"),
                    HasSubstr(pki_.wrong_ca_crt())));
}

TEST_F(TlsTest, PyctlNamesAMissingTlsFile) {
  StartController(/*mutual=*/false);
  const std::string missing = dir_.Join("nope.crt");
  const ProcessResult result =
      Pyctl({"--controller", controller_.tcp_address(), "--tls-ca", missing,
             "get", "hosts"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_text, AllOf(HasSubstr("pyctl: "), HasSubstr(missing)));
}

TEST_F(TlsTest, MutualTlsOperatorApiNeedsAClientCertificate) {
  StartController(/*mutual=*/true);
  const ProcessResult without =
      Pyctl({"--controller", controller_.tcp_address(), "--tls-ca",
             pki_.ca_crt(), "get", "hosts"});
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_THAT(without.stderr_text,
              AllOf(HasSubstr("pyctl: controller"),
                    HasSubstr(controller_.tcp_address()),
                    HasSubstr("--tls-cert")));

  std::vector<std::string> args = OperatorFlags();
  args.insert(args.end(), {"get", "hosts", "-o", "json"});
  const ProcessResult with = Pyctl(args);
  EXPECT_TRUE(with.Succeeded()) << with.stderr_text;
}

TEST_F(TlsTest, MutualTlsAgentRegistersUnderItsCertificateName) {
  StartController(/*mutual=*/true);
  // No name in Hello: the certificate's is taken.
  absl::StatusOr<std::unique_ptr<FakeAgent>> agent =
      StartAgent("", pki_.client_crt(kHostName), pki_.client_key(kHostName),
                 pki_.ca_crt());
  ASSERT_TRUE(agent.ok()) << agent.status();
  absl::StatusOr<v1::Welcome> welcome = (*agent)->WaitForWelcome();
  ASSERT_TRUE(welcome.ok()) << welcome.status() << "\n" << controller_.Stderr();
  EXPECT_EQ(welcome->host(), kHostName);

  std::vector<std::string> args = OperatorFlags();
  args.insert(args.end(), {"get", "hosts", "-o", "json"});
  const ProcessResult hosts = Pyctl(args);
  ASSERT_TRUE(hosts.Succeeded()) << hosts.stderr_text;
  EXPECT_THAT(hosts.stdout_text,
              AllOf(HasSubstr(absl::StrCat("\"name\": \"", kHostName, "\"")),
                    HasSubstr("\"connected\": true")));
}

TEST_F(TlsTest, MutualTlsAgentNamingItselfByItsCertificateIsWelcome) {
  StartController(/*mutual=*/true);
  absl::StatusOr<std::unique_ptr<FakeAgent>> agent =
      StartAgent(kHostName, pki_.client_crt(kHostName),
                 pki_.client_key(kHostName), pki_.ca_crt());
  ASSERT_TRUE(agent.ok()) << agent.status();
  absl::StatusOr<v1::Welcome> welcome = (*agent)->WaitForWelcome();
  ASSERT_TRUE(welcome.ok()) << welcome.status();
  EXPECT_EQ(welcome->host(), kHostName);
}

TEST_F(TlsTest, MutualTlsHelloClaimingAnotherHostIsPermissionDenied) {
  StartController(/*mutual=*/true);
  absl::StatusOr<std::unique_ptr<FakeAgent>> agent =
      StartAgent("web-2", pki_.client_crt(kHostName),
                 pki_.client_key(kHostName), pki_.ca_crt());
  ASSERT_TRUE(agent.ok()) << agent.status();
  absl::StatusOr<grpc::Status> end = (*agent)->WaitForEnd();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(end->error_message(),
              AllOf(HasSubstr("web-2"), HasSubstr(kHostName)));

  std::vector<std::string> args = OperatorFlags();
  args.insert(args.end(), {"get", "hosts", "-o", "json"});
  const ProcessResult hosts = Pyctl(args);
  ASSERT_TRUE(hosts.Succeeded()) << hosts.stderr_text;
  EXPECT_THAT(hosts.stdout_text, Not(HasSubstr("web-2")));
}

TEST_F(TlsTest, MutualTlsRefusesACertificateFromTheWrongCa) {
  StartController(/*mutual=*/true);
  absl::StatusOr<std::unique_ptr<FakeAgent>> agent =
      StartAgent(kHostName, pki_.wrong_client_crt(kHostName),
                 pki_.wrong_client_key(kHostName), pki_.ca_crt());
  ASSERT_TRUE(agent.ok()) << agent.status();
  absl::StatusOr<v1::Welcome> welcome = (*agent)->WaitForWelcome();
  ASSERT_FALSE(welcome.ok());
  EXPECT_EQ(welcome.status().code(), absl::StatusCode::kUnavailable)
      << welcome.status();
}

TEST_F(TlsTest, MutualTlsRefusesAnAgentWithoutCertificate) {
  StartController(/*mutual=*/true);
  FakeAgentOptions options;
  options.address = controller_.tcp_address();
  options.host = kHostName;
  options.credentials = AgentCredentials(pki_.ca_crt(), "", "");
  absl::StatusOr<std::unique_ptr<FakeAgent>> agent =
      FakeAgent::Start(std::move(options));
  ASSERT_TRUE(agent.ok()) << agent.status();
  EXPECT_FALSE((*agent)->WaitForWelcome().ok());
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
