// TLS and mutual TLS over real gRPC on loopback, with certificates from
// deploy/tls/make-test-ca.sh: who gets in, who is refused, and the identity
// the server reads from a client certificate.
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/tls/credentials.h"
#include "common/tls/plaintext.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/tls/test_pki.h"
#include "tests/common/tls/who_am_i_server.h"

namespace pyservice::tls::testing {
namespace {

using ::testing::HasSubstr;

class TlsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::StatusOr<TestPki>& pki = GetTestPki();
    ASSERT_TRUE(pki.ok())
        << "cannot make the test certificates with deploy/tls/make-test-ca.sh "
           "(openssl is required): "
        << pki.status();
    pki_ = &*pki;
  }

  const TestPki& pki() const { return *pki_; }

  TlsServerOptions ServerTls() const {
    TlsServerOptions options;
    options.cert_file = pki().server_crt();
    options.key_file = pki().server_key();
    return options;
  }
  TlsServerOptions ServerMtls(bool require_client_cert = true) const {
    TlsServerOptions options = ServerTls();
    options.client_ca_file = pki().ca_crt();
    options.require_client_cert = require_client_cert;
    return options;
  }
  TlsClientOptions ClientTls() const {
    TlsClientOptions options;
    options.ca_file = pki().ca_crt();
    return options;
  }
  TlsClientOptions ClientMtls(const std::string& name) const {
    TlsClientOptions options = ClientTls();
    options.cert_file = pki().client_crt(name);
    options.key_file = pki().client_key(name);
    return options;
  }

  // A WhoAmI server with `options` on 127.0.0.1, or null after a failure.
  std::unique_ptr<WhoAmIServer> Serve(
      const TlsServerOptions& options,
      WhoAmIServer::Api api = WhoAmIServer::Api::kSync) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        MakeServerCredentials(options);
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    if (!credentials.ok()) return nullptr;
    absl::StatusOr<std::unique_ptr<WhoAmIServer>> server =
        WhoAmIServer::Start(*credentials, api);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? std::move(*server) : nullptr;
  }

  // One call from a client with `options`.
  absl::StatusOr<std::string> Ask(const WhoAmIServer& server,
                                  const TlsClientOptions& options) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        MakeChannelCredentials(options);
    if (!credentials.ok()) return credentials.status();
    grpc::ChannelArguments args;
    ApplyTlsChannelArguments(options, &args);
    return AskWhoAmI(server.target(), *credentials, args);
  }

 private:
  const TestPki* pki_ = nullptr;
};

TEST_F(TlsTransportTest, TlsWithoutClientCertificatesWorksAndHasNoIdentity) {
  std::unique_ptr<WhoAmIServer> server = Serve(ServerTls());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::string> identity = Ask(*server, ClientTls());
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(*identity, "");
}

TEST_F(TlsTransportTest, TlsServerWithoutClientCaIgnoresAClientCertificate) {
  std::unique_ptr<WhoAmIServer> server = Serve(ServerTls());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::string> identity = Ask(*server, ClientMtls(kHostName));
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(*identity, "") << "a certificate nobody verified is no identity";
}

TEST_F(TlsTransportTest, MtlsAcceptsClientCertFromRightCaAndIdentityIsHostName) {
  std::unique_ptr<WhoAmIServer> server = Serve(ServerMtls());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::string> identity = Ask(*server, ClientMtls(kHostName));
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(*identity, kHostName);
  EXPECT_EQ(server->calls(), 1);
}

TEST_F(TlsTransportTest, MtlsIdentityOfOperatorCertificateIsOperator) {
  std::unique_ptr<WhoAmIServer> server = Serve(ServerMtls());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::string> identity =
      Ask(*server, ClientMtls(kOperatorName));
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(*identity, kOperatorName);
}

TEST_F(TlsTransportTest, MtlsIdentityInCallbackServiceIsHostName) {
  std::unique_ptr<WhoAmIServer> server =
      Serve(ServerMtls(), WhoAmIServer::Api::kCallback);
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::string> identity = Ask(*server, ClientMtls(kHostName));
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(*identity, kHostName);
}

TEST_F(TlsTransportTest, MtlsRefusesClientCertFromWrongCaClaimingTheSameName) {
  std::unique_ptr<WhoAmIServer> server = Serve(ServerMtls());
  ASSERT_NE(server, nullptr);
  TlsClientOptions impostor = ClientTls();
  impostor.cert_file = pki().wrong_client_crt(kHostName);
  impostor.key_file = pki().wrong_client_key(kHostName);
  absl::StatusOr<std::string> identity = Ask(*server, impostor);
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kUnavailable)
      << identity.status();
  EXPECT_EQ(server->calls(), 0) << "the call must not reach the handler";
}

TEST_F(TlsTransportTest, MtlsRefusesClientWithoutCertificateWhenRequired) {
  std::unique_ptr<WhoAmIServer> server = Serve(ServerMtls());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::string> identity = Ask(*server, ClientTls());
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kUnavailable)
      << identity.status();
  EXPECT_EQ(server->calls(), 0);
}

TEST_F(TlsTransportTest, OptionalClientCertLetsClientsWithoutOneInWithNoIdentity) {
  std::unique_ptr<WhoAmIServer> server =
      Serve(ServerMtls(/*require_client_cert=*/false));
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::string> anonymous = Ask(*server, ClientTls());
  ASSERT_TRUE(anonymous.ok()) << anonymous.status();
  EXPECT_EQ(*anonymous, "");
  absl::StatusOr<std::string> host = Ask(*server, ClientMtls(kHostName));
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ(*host, kHostName);
}

TEST_F(TlsTransportTest, OptionalClientCertStillRefusesOneFromWrongCa) {
  std::unique_ptr<WhoAmIServer> server =
      Serve(ServerMtls(/*require_client_cert=*/false));
  ASSERT_NE(server, nullptr);
  TlsClientOptions impostor = ClientTls();
  impostor.cert_file = pki().wrong_client_crt(kHostName);
  impostor.key_file = pki().wrong_client_key(kHostName);
  EXPECT_EQ(Ask(*server, impostor).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(server->calls(), 0);
}

TEST_F(TlsTransportTest, ClientTrustingWrongCaRefusesServer) {
  std::unique_ptr<WhoAmIServer> server = Serve(ServerTls());
  ASSERT_NE(server, nullptr);
  TlsClientOptions options = ClientTls();
  options.ca_file = pki().wrong_ca_crt();
  EXPECT_EQ(Ask(*server, options).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(server->calls(), 0);
}

TEST_F(TlsTransportTest, ClientRefusesServerWhoseCertificateLacksTheOverrideName) {
  std::unique_ptr<WhoAmIServer> server = Serve(ServerTls());
  ASSERT_NE(server, nullptr);
  TlsClientOptions options = ClientTls();
  options.server_name_override = "localhost";  // in the certificate
  absl::StatusOr<std::string> listed = Ask(*server, options);
  EXPECT_TRUE(listed.ok()) << listed.status();
  options.server_name_override = "controller.elsewhere.example";
  EXPECT_EQ(Ask(*server, options).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(server->calls(), 1);
}

TEST_F(TlsTransportTest, PlaintextClientFailsAgainstTlsServer) {
  std::unique_ptr<WhoAmIServer> server = Serve(ServerTls());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> plaintext =
      MakeInsecureChannelCredentials(server->target(), /*insecure_flag=*/true);
  ASSERT_TRUE(plaintext.ok()) << plaintext.status();
  EXPECT_EQ(AskWhoAmI(server->target(), *plaintext).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(server->calls(), 0);
}

TEST_F(TlsTransportTest, PeerIdentityPrefersDnsSanOverCommonName) {
  std::unique_ptr<WhoAmIServer> server = Serve(ServerMtls());
  ASSERT_NE(server, nullptr);
  TlsClientOptions options = ClientTls();
  options.cert_file = pki().san_differs_crt();
  options.key_file = pki().san_differs_key();
  absl::StatusOr<std::string> identity = Ask(*server, options);
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(*identity, "san-host");
}

TEST_F(TlsTransportTest, PeerIdentityIsCommonNameWithoutSan) {
  std::unique_ptr<WhoAmIServer> server = Serve(ServerMtls());
  ASSERT_NE(server, nullptr);
  TlsClientOptions options = ClientTls();
  options.cert_file = pki().cn_only_crt();
  options.key_file = pki().cn_only_key();
  absl::StatusOr<std::string> identity = Ask(*server, options);
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(*identity, "cn-only-host");
}

}  // namespace
}  // namespace pyservice::tls::testing
