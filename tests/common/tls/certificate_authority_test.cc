// What the controller's CA issues (only the host's name, only client
// authentication) and which certificates it accepts back as agents'.
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <vector>

#include "common/tls/pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/tls/pki_fixture.h"
#include "tests/common/tls/test_pki.h"

namespace pyservice::tls {
namespace {

using ::pyservice::tls::testing::RunOrError;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// "DNS:web-1", "URI:urn:…": the certificate's subjectAltNames.
std::vector<std::string> SubjectAltNames(const X509& cert) {
  std::vector<std::string> out;
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(&cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    const ASN1_IA5STRING* text = name->type == GEN_DNS ? name->d.dNSName : name->d.ia5;
    out.push_back(absl::StrCat(name->type == GEN_DNS ? "DNS:" : "URI:",
                               reinterpret_cast<const char*>(ASN1_STRING_get0_data(text))));
  }
  return out;
}

class CertificateAuthorityTest : public PkiTest {
 protected:
  void SetUp() override {
    ca_ = LoadCa(CaDir());
    ASSERT_NE(ca_, nullptr);
  }
  std::unique_ptr<CertificateAuthority> ca_;
};

TEST_F(CertificateAuthorityTest, IssueThenVerifyGivesTheHost) {
  absl::StatusOr<IssuedCertificate> issued =
      ca_->Issue(KeyAndRequest("web-1").second, "web-1", absl::Hours(24));
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(issued->not_before, clock_.Now() - absl::Minutes(5));
  EXPECT_EQ(issued->not_after, clock_.Now() + absl::Hours(24));
  absl::StatusOr<AgentCertificate> agent = ca_->VerifyAgentCertificate(issued->certificate_pem);
  ASSERT_TRUE(agent.ok()) << agent.status();
  EXPECT_EQ(agent->host, "web-1");
  EXPECT_EQ(agent->serial, issued->serial);
  EXPECT_EQ(agent->not_after, issued->not_after);
  absl::StatusOr<CertificateInfo> info = ParseCertificate(issued->certificate_pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->common_name, "web-1");
  EXPECT_EQ(info->serial, issued->serial);
  EXPECT_EQ(info->not_before, issued->not_before);
}

TEST_F(CertificateAuthorityTest, IssuedCertificateIsForClientAuthenticationOnly) {
  absl::StatusOr<IssuedCertificate> issued = IssueFor(*ca_, "web-1");
  ASSERT_TRUE(issued.ok()) << issued.status();
  X509Ptr cert = ParseCertificatePem(issued->certificate_pem);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), uint32_t{XKU_SSL_CLIENT});
  EXPECT_EQ(X509_get_key_usage(cert.get()), uint32_t{KU_DIGITAL_SIGNATURE});
  EXPECT_THAT(SubjectAltNames(*cert),
              UnorderedElementsAre("DNS:web-1", "URI:urn:pyservice:agent:web-1"));
}

TEST_F(CertificateAuthorityTest, SerialsAreRandomPositive128BitNumbers) {
  absl::StatusOr<IssuedCertificate> first = IssueFor(*ca_, "web-1");
  absl::StatusOr<IssuedCertificate> second = IssueFor(*ca_, "web-1");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->serial, second->serial);
  for (const std::string& serial : {first->serial, second->serial}) {
    EXPECT_LE(serial.size(), 32u) << serial;
    EXPECT_GE(serial.size(), 16u) << serial;
    EXPECT_EQ(serial.find_first_not_of("0123456789abcdef"), std::string::npos) << serial;
  }
  X509Ptr cert = ParseCertificatePem(first->certificate_pem);
  EXPECT_NE(ASN1_STRING_type(X509_get0_serialNumber(cert.get())), V_ASN1_NEG_INTEGER);
}

TEST_F(CertificateAuthorityTest, RequestsSubjectAndExtensionsAreIgnored) {
  const std::string key = dir_.Join("evil.key");
  const std::string csr = dir_.Join("evil.csr");
  WriteAll(key, *GeneratePrivateKeyPem());
  ASSERT_TRUE(RunOrError({"openssl", "req", "-new", "-config", "/dev/null", "-key", key,
                          "-subj", "/CN=evil", "-addext", "subjectAltName=DNS:evil",
                          "-addext", "basicConstraints=critical,CA:TRUE", "-out", csr})
                  .ok());
  absl::StatusOr<IssuedCertificate> issued = ca_->Issue(ReadAll(csr), "web-1", absl::Hours(1));
  ASSERT_TRUE(issued.ok()) << issued.status();
  X509Ptr cert = ParseCertificatePem(issued->certificate_pem);
  EXPECT_THAT(SubjectAltNames(*cert),
              UnorderedElementsAre("DNS:web-1", "URI:urn:pyservice:agent:web-1"));
  EXPECT_EQ(ParseCertificate(issued->certificate_pem)->common_name, "web-1");
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
}

TEST_F(CertificateAuthorityTest, RefusesARequestWhoseSignatureDoesNotVerify) {
  absl::StatusOr<IssuedCertificate> issued =
      ca_->Issue(FlipLastByte(KeyAndRequest("web-1").second), "web-1", absl::Hours(1));
  EXPECT_EQ(issued.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(issued.status().message(), "certificate request: signature does not verify");
  EXPECT_EQ(ca_->Issue("not a request", "web-1", absl::Hours(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CertificateAuthorityTest, RefusesAWeakKey) {
  const std::string key = dir_.Join("weak.key");
  const std::string csr = dir_.Join("weak.csr");
  ASSERT_TRUE(RunOrError({"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                          "rsa_keygen_bits:1024", "-out", key})
                  .ok());
  ASSERT_TRUE(RunOrError({"openssl", "req", "-new", "-config", "/dev/null", "-key", key,
                          "-subj", "/CN=weak", "-out", csr})
                  .ok());
  absl::StatusOr<IssuedCertificate> issued = ca_->Issue(ReadAll(csr), "web-1", absl::Hours(1));
  EXPECT_EQ(issued.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(issued.status().message()), HasSubstr("too weak"));
}

TEST_F(CertificateAuthorityTest, RefusesBadHostNamesAndValidities) {
  const std::string csr = KeyAndRequest("x").second;
  for (const std::string& host : std::vector<std::string>{"", "Web-1", "-web", ".web", "web_1",
                                                         "web 1", "a,URI:x", "web:1",
                                                         std::string(64, 'a')}) {
    absl::StatusOr<IssuedCertificate> issued = ca_->Issue(csr, host, absl::Hours(1));
    EXPECT_EQ(issued.status().code(), absl::StatusCode::kInvalidArgument) << host;
  }
  for (const std::string& host :
       std::vector<std::string>{"a", "web-1", "web-1.eu.example", std::string(63, 'a')}) {
    EXPECT_TRUE(ca_->Issue(csr, host, absl::Hours(1)).ok()) << host;
  }
  EXPECT_EQ(ca_->Issue(csr, "web-1", absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CertificateAuthorityTest, RefusesACertificateFromAnotherCaOfTheSameName) {
  std::unique_ptr<CertificateAuthority> other = LoadCa(dir_.Join("other"));
  ASSERT_NE(other, nullptr);
  absl::StatusOr<IssuedCertificate> issued = IssueFor(*other, "web-1");
  ASSERT_TRUE(issued.ok()) << issued.status();
  absl::StatusOr<AgentCertificate> agent = ca_->VerifyAgentCertificate(issued->certificate_pem);
  EXPECT_EQ(agent.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(agent.status().message(), "certificate not issued by this controller's CA");
}

TEST_F(CertificateAuthorityTest, RefusesAnExpiredCertificate) {
  absl::StatusOr<IssuedCertificate> issued = IssueFor(*ca_, "web-1");
  ASSERT_TRUE(issued.ok()) << issued.status();
  clock_.Advance(absl::Hours(24) + absl::Seconds(1));
  absl::StatusOr<AgentCertificate> agent = ca_->VerifyAgentCertificate(issued->certificate_pem);
  EXPECT_EQ(agent.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(agent.status().message()), HasSubstr("certificate expired at "));
}

TEST_F(CertificateAuthorityTest, RefusesACertificateWithoutTheAgentMarker) {
  // Signed by this CA's key, as an operator's certificate would be.
  const std::string key = dir_.Join("operator.key");
  const std::string csr = dir_.Join("operator.csr");
  const std::string ext = dir_.Join("operator.ext");
  const std::string crt = dir_.Join("operator.crt");
  auto [key_pem, csr_pem] = KeyAndRequest("web-1");
  WriteAll(key, key_pem);
  WriteAll(csr, csr_pem);
  WriteAll(ext, "subjectAltName = DNS:web-1\nextendedKeyUsage = clientAuth\n");
  ASSERT_TRUE(RunOrError({"openssl", "x509", "-req", "-in", csr, "-CA", CaDir() + "/ca.crt",
                          "-CAkey", CaDir() + "/ca.key", "-days", "1", "-extfile", ext,
                          "-out", crt})
                  .ok());
  // openssl dates it from the real clock, maybe a second past the fixture's
  // whole-second clock: check it inside its validity, a minute on.
  clock_.SetTime(absl::Now() + absl::Minutes(1));
  absl::StatusOr<AgentCertificate> agent = ca_->VerifyAgentCertificate(ReadAll(crt));
  EXPECT_EQ(agent.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(agent.status().message()), HasSubstr("not an agent certificate"));
}

TEST_F(CertificateAuthorityTest, ParseCertificateRefusesNonCertificates) {
  EXPECT_EQ(ParseCertificate("garbage").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ca_->VerifyAgentCertificate("garbage").status().code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace pyservice::tls
