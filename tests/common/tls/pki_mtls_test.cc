// A certificate the controller's CA issued is an identity over real mutual
// TLS: a server that requires client certificates from the CA lets the
// agent in, and PeerIdentity() is the host the certificate was issued for.
#include <memory>
#include <string>

#include "common/tls/credentials.h"
#include "common/tls/pki.h"
#include "gtest/gtest.h"
#include "tests/common/tls/pki_fixture.h"
#include "tests/common/tls/test_pki.h"
#include "tests/common/tls/who_am_i_server.h"

namespace pyservice::tls {
namespace {

using ::pyservice::tls::testing::AskWhoAmI;
using ::pyservice::tls::testing::GetTestPki;
using ::pyservice::tls::testing::TestPki;
using ::pyservice::tls::testing::WhoAmIServer;

class PkiMtlsTest : public PkiTest {
 protected:
  void SetUp() override {
    const absl::StatusOr<TestPki>& pki = GetTestPki();
    ASSERT_TRUE(pki.ok()) << pki.status();
    server_pki_ = &*pki;
    ca_ = LoadCa(CaDir());
    ASSERT_NE(ca_, nullptr);
  }

  // A server with the test PKI's server certificate that requires client
  // certificates from `ca_`.
  std::unique_ptr<WhoAmIServer> Serve() {
    TlsServerOptions options;
    options.cert_file = server_pki_->server_crt();
    options.key_file = server_pki_->server_key();
    options.client_ca_file = CaDir() + "/ca.crt";
    options.require_client_cert = true;
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        MakeServerCredentials(options);
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    if (!credentials.ok()) return nullptr;
    absl::StatusOr<std::unique_ptr<WhoAmIServer>> server = WhoAmIServer::Start(*credentials);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  absl::StatusOr<std::string> Ask(const WhoAmIServer& server, const std::string& cert_file,
                                  const std::string& key_file) {
    TlsClientOptions options;
    options.ca_file = server_pki_->ca_crt();
    options.cert_file = cert_file;
    options.key_file = key_file;
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        MakeChannelCredentials(options);
    if (!credentials.ok()) return credentials.status();
    return AskWhoAmI(server.target(), *credentials);
  }

  const TestPki* server_pki_ = nullptr;
  std::unique_ptr<CertificateAuthority> ca_;
};

TEST_F(PkiMtlsTest, IssuedCertificateIsTheHostsIdentity) {
  std::unique_ptr<WhoAmIServer> server = Serve();
  ASSERT_NE(server, nullptr);
  auto [key_pem, csr_pem] = KeyAndRequest("whatever");
  absl::StatusOr<IssuedCertificate> issued = ca_->Issue(csr_pem, "web-7", absl::Hours(1));
  ASSERT_TRUE(issued.ok()) << issued.status();
  WriteAll(dir_.Join("host.crt"), issued->certificate_pem);
  WritePrivate(dir_.Join("host.key"), key_pem);
  absl::StatusOr<std::string> identity =
      Ask(*server, dir_.Join("host.crt"), dir_.Join("host.key"));
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity.value(), "web-7");
}

TEST_F(PkiMtlsTest, CertificateFromAnotherCaIsRefusedAtTheHandshake) {
  std::unique_ptr<WhoAmIServer> server = Serve();
  ASSERT_NE(server, nullptr);
  std::unique_ptr<CertificateAuthority> other = LoadCa(dir_.Join("other"));
  ASSERT_NE(other, nullptr);
  auto [key_pem, csr_pem] = KeyAndRequest("web-7");
  absl::StatusOr<IssuedCertificate> issued = other->Issue(csr_pem, "web-7", absl::Hours(1));
  ASSERT_TRUE(issued.ok()) << issued.status();
  WriteAll(dir_.Join("host.crt"), issued->certificate_pem);
  WritePrivate(dir_.Join("host.key"), key_pem);
  absl::StatusOr<std::string> identity =
      Ask(*server, dir_.Join("host.crt"), dir_.Join("host.key"));
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kUnavailable) << identity.status();
  EXPECT_EQ(server->calls(), 0);
}

}  // namespace
}  // namespace pyservice::tls
