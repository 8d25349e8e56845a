// Building TLS credentials from files: every configuration mistake fails up
// front with a message naming the file, never showing its content.
#include "common/tls/credentials.h"

#include <sys/stat.h>

#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "common/file/read_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/tls/test_pki.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::tls::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class TlsCredentialsTest : public ::testing::Test {
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

  TlsServerOptions ServerOptions() const {
    TlsServerOptions options;
    options.cert_file = pki().server_crt();
    options.key_file = pki().server_key();
    options.client_ca_file = pki().ca_crt();
    options.require_client_cert = true;
    return options;
  }
  TlsClientOptions ClientOptions() const {
    TlsClientOptions options;
    options.ca_file = pki().ca_crt();
    options.cert_file = pki().client_crt(kHostName);
    options.key_file = pki().client_key(kHostName);
    return options;
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = dir_.Join(name);
    std::ofstream(path) << text;
    chmod(path.c_str(), 0600);
    return path;
  }

  // A line of the base64 body of `key_file`: it must never show up in a
  // message.
  std::string KeyMaterial(const std::string& key_file) const {
    absl::StatusOr<std::string> pem = ReadFileToString(key_file, 1 << 16);
    EXPECT_TRUE(pem.ok());
    const size_t begin = pem->find('\n') + 1;
    return pem->substr(begin, 40);
  }

  pyservice::testing::TempDir dir_;

 private:
  const TestPki* pki_ = nullptr;
};

TEST_F(TlsCredentialsTest, ValidServerAndClientFilesMakeCredentials) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> server =
      MakeServerCredentials(ServerOptions());
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_NE(*server, nullptr);
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> client =
      MakeChannelCredentials(ClientOptions());
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_NE(*client, nullptr);
}

TEST_F(TlsCredentialsTest, MissingServerCertificateIsNotFoundNamingTheFile) {
  TlsServerOptions options = ServerOptions();
  options.cert_file = dir_.Join("no-such.crt");
  absl::Status status = MakeServerCredentials(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("TLS server certificate"),
                                      HasSubstr(options.cert_file)));
}

TEST_F(TlsCredentialsTest, MissingClientCaIsNotFoundNamingTheFile) {
  TlsServerOptions options = ServerOptions();
  options.client_ca_file = dir_.Join("no-such-ca.crt");
  absl::Status status = MakeServerCredentials(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("client CA"),
                                      HasSubstr(options.client_ca_file)));
}

TEST_F(TlsCredentialsTest, KeyPathThatIsADirectoryIsInvalidArgumentNamingIt) {
  TlsServerOptions options = ServerOptions();
  options.key_file = dir_.path();
  absl::Status status = MakeServerCredentials(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("TLS server private key"),
                                      HasSubstr(options.key_file)));
}

TEST_F(TlsCredentialsTest, CertificateFileWithoutPemIsInvalidArgumentNamingIt) {
  TlsServerOptions options = ServerOptions();
  options.cert_file = WriteFile("garbage.crt", "not a certificate\n");
  absl::Status status = MakeServerCredentials(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), AllOf(HasSubstr(options.cert_file),
                                      HasSubstr("no valid PEM certificate")));
}

TEST_F(TlsCredentialsTest, CorruptPemCertificateIsInvalidArgumentNamingIt) {
  TlsClientOptions options = ClientOptions();
  options.ca_file = WriteFile(
      "corrupt.crt",
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  absl::Status status = MakeChannelCredentials(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("TLS CA certificate"), HasSubstr(options.ca_file)));
}

TEST_F(TlsCredentialsTest, SwappedCertificateAndKeySaySoWithoutShowingTheKey) {
  TlsServerOptions options = ServerOptions();
  std::swap(options.cert_file, options.key_file);
  absl::Status status = MakeServerCredentials(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr(options.cert_file), HasSubstr("swapped"),
                    Not(HasSubstr(KeyMaterial(pki().server_key())))));
}

TEST_F(TlsCredentialsTest, KeyOfAnotherCertificateNamesBothFiles) {
  TlsServerOptions options = ServerOptions();
  options.key_file = pki().client_key(kHostName);
  absl::Status status = MakeServerCredentials(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr(options.key_file), HasSubstr(options.cert_file),
                    HasSubstr("does not belong"),
                    Not(HasSubstr(KeyMaterial(options.key_file)))));
}

TEST_F(TlsCredentialsTest, PassphraseProtectedKeyIsRefusedWithoutPrompting) {
  const std::string encrypted = dir_.Join("encrypted.key");
  ASSERT_TRUE(RunOrError({"openssl", "pkey", "-in", pki().client_key(kHostName),
                          "-aes256", "-passout", "pass:secret", "-out",
                          encrypted})
                  .ok());
  TlsClientOptions options = ClientOptions();
  options.key_file = encrypted;
  absl::Status status = MakeChannelCredentials(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr(encrypted), HasSubstr("passphrase")));
}

TEST_F(TlsCredentialsTest, RequiringClientCertsWithoutClientCaIsInvalidArgument) {
  TlsServerOptions options = ServerOptions();
  options.client_ca_file.clear();
  absl::Status status = MakeServerCredentials(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("client CA"));
}

TEST_F(TlsCredentialsTest, ServerWithoutKeyFileIsInvalidArgument) {
  TlsServerOptions options = ServerOptions();
  options.key_file.clear();
  EXPECT_EQ(MakeServerCredentials(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TlsCredentialsTest, ClientWithoutCaFileIsInvalidArgument) {
  TlsClientOptions options = ClientOptions();
  options.ca_file.clear();
  absl::Status status = MakeChannelCredentials(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("CA file is required"));
}

TEST_F(TlsCredentialsTest, ClientCertificateWithoutKeyIsInvalidArgumentNamingIt) {
  TlsClientOptions options = ClientOptions();
  options.key_file.clear();
  absl::Status status = MakeChannelCredentials(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(options.cert_file));
}

TEST_F(TlsCredentialsTest, ClientWithCaOnlyMakesCredentials) {
  TlsClientOptions options;
  options.ca_file = pki().ca_crt();
  EXPECT_TRUE(MakeChannelCredentials(options).ok());
}

}  // namespace
}  // namespace pyservice::tls::testing
