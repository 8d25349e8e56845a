// Keys, requests and the controller CA's files (common/tls/pki.h), with
// real OpenSSL in temp dirs: what is created, with which modes, and which
// files are refused.
#include "common/tls/pki.h"

#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/tls/pki_fixture.h"

namespace pyservice::tls {
namespace {

using ::pyservice::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

TEST_F(PkiTest, GeneratedKeyIsUnencryptedPkcs8P256) {
  absl::StatusOr<std::string> pem = GeneratePrivateKeyPem();
  ASSERT_TRUE(pem.ok()) << pem.status();
  EXPECT_THAT(*pem, ::testing::StartsWith("-----BEGIN PRIVATE KEY-----\n"));
  PkeyPtr key = ParsePrivateKeyPem(*pem);
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(EVP_PKEY_is_a(key.get(), "EC"));
  char group[64] = {};
  ASSERT_EQ(EVP_PKEY_get_group_name(key.get(), group, sizeof(group), nullptr), 1);
  EXPECT_STREQ(group, "prime256v1");
}

TEST_F(PkiTest, RequestIsSignedByItsKeyAndNamesTheCommonName) {
  auto [key, csr] = KeyAndRequest("web-1");
  X509ReqPtr request = ParseCertificateRequestPem(csr);
  ASSERT_NE(request, nullptr);
  PkeyPtr own = ParsePrivateKeyPem(key);
  EXPECT_EQ(X509_REQ_verify(request.get(), own.get()), 1);
  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(request.get()), NID_commonName, cn,
                            sizeof(cn));
  EXPECT_STREQ(cn, "web-1");
  EXPECT_EQ(MakeCertificateRequestPem("not a key", "web-1").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PkiTest, CreatesThenReloadsTheSameCa) {
  std::unique_ptr<CertificateAuthority> created = LoadCa(CaDir());
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(ReadAll(CaDir() + "/ca.crt"), created->certificate_pem());
  std::unique_ptr<CertificateAuthority> reloaded = LoadCa(CaDir());
  ASSERT_NE(reloaded, nullptr);
  EXPECT_EQ(reloaded->certificate_pem(), created->certificate_pem());
  absl::StatusOr<IssuedCertificate> issued = IssueFor(*created, "web-1");
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_TRUE(reloaded->VerifyAgentCertificate(issued->certificate_pem).ok())
      << "the reloaded CA is the same CA";
}

TEST_F(PkiTest, CaCertificateIsATenYearCaForSigningOnly) {
  std::unique_ptr<CertificateAuthority> ca = LoadCa(CaDir());
  ASSERT_NE(ca, nullptr);
  X509Ptr cert = ParseCertificatePem(ca->certificate_pem());
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_ca(cert.get()), 1);
  EXPECT_EQ(X509_get_key_usage(cert.get()), uint32_t{KU_KEY_CERT_SIGN | KU_CRL_SIGN});
  const int basic = X509_get_ext_by_NID(cert.get(), NID_basic_constraints, -1);
  ASSERT_GE(basic, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(cert.get(), basic)), 1);
  absl::StatusOr<CertificateInfo> info = ParseCertificate(ca->certificate_pem());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->common_name, kCaName);
  EXPECT_GE(info->not_after - clock_.Now(), absl::Hours(24 * 3650));
}

TEST_F(PkiTest, NewKeyIsOwnerOnlyWhateverTheUmask) {
  const mode_t old_umask = umask(0);
  std::unique_ptr<CertificateAuthority> ca = LoadCa(CaDir());
  umask(old_umask);
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(ModeOf(CaDir() + "/ca.key"), 0600u);
  EXPECT_EQ(ModeOf(CaDir()), 0700u);
  EXPECT_EQ(ModeOf(CaDir() + "/ca.crt"), 0644u);
}

TEST_F(PkiTest, RefusesAKeyOthersCanRead) {
  ASSERT_NE(LoadCa(CaDir()), nullptr);
  const std::string key = CaDir() + "/ca.key";
  ASSERT_EQ(chmod(key.c_str(), 0644), 0);
  absl::StatusOr<std::unique_ptr<CertificateAuthority>> ca =
      CertificateAuthority::LoadOrCreate(CaDir(), kCaName, clock_);
  EXPECT_EQ(ca.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(ca.status().message()), HasSubstr(key));
  EXPECT_THAT(std::string(ca.status().message()), HasSubstr("0644"));
}

TEST_F(PkiTest, RefusesHalfAPair) {
  ASSERT_NE(LoadCa(CaDir()), nullptr);
  for (const char* missing : {"/ca.crt", "/ca.key"}) {
    TempDir other;
    const std::string present = std::string(missing) == "/ca.crt" ? "/ca.key" : "/ca.crt";
    WriteAll(other.path() + present, ReadAll(CaDir() + present));
    chmod((other.path() + present).c_str(), 0600);
    absl::StatusOr<std::unique_ptr<CertificateAuthority>> ca =
        CertificateAuthority::LoadOrCreate(other.path(), kCaName, clock_);
    EXPECT_EQ(ca.status().code(), absl::StatusCode::kFailedPrecondition) << missing;
    EXPECT_THAT(std::string(ca.status().message()), HasSubstr(other.path() + missing));
    EXPECT_THAT(std::string(ca.status().message()), Not(HasSubstr("BEGIN")));
  }
}

TEST_F(PkiTest, RefusesAKeyThatIsNotTheCertificates) {
  ASSERT_NE(LoadCa(CaDir()), nullptr);
  ASSERT_NE(LoadCa(dir_.Join("other")), nullptr);
  const std::string key = CaDir() + "/ca.key";
  WriteAll(key, ReadAll(dir_.Join("other/ca.key")));
  absl::StatusOr<std::unique_ptr<CertificateAuthority>> ca =
      CertificateAuthority::LoadOrCreate(CaDir(), kCaName, clock_);
  EXPECT_EQ(ca.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(ca.status().message()), HasSubstr(key));
  EXPECT_THAT(std::string(ca.status().message()), Not(HasSubstr("PRIVATE KEY")));
}

}  // namespace
}  // namespace pyservice::tls
