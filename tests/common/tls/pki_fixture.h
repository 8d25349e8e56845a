// The fixture of the CA tests (pki_test, certificate_authority_test,
// pki_mtls_test): a temp dir, a FakeClock at the real time, and helpers to
// make keys, requests and CAs.
#ifndef PYSERVICE_TESTS_COMMON_TLS_PKI_FIXTURE_H_
#define PYSERVICE_TESTS_COMMON_TLS_PKI_FIXTURE_H_

#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/tls/pki.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::tls {

inline constexpr char kCaName[] = "pyservice agents";

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void WriteAll(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// For keys: created owner-only, as the code under test writes them.
inline void WritePrivate(const std::string& path, const std::string& text) {
  WriteAll(path, "");
  chmod(path.c_str(), 0600);
  WriteAll(path, text);
}

inline mode_t ModeOf(const std::string& path) {
  struct stat info;
  EXPECT_EQ(stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

// The PEM with the last byte of its DER flipped: the end of the signature.
inline std::string FlipLastByte(const std::string& pem) {
  std::vector<std::string> lines = absl::StrSplit(pem, '\n', absl::SkipEmpty());
  std::string base64;
  for (size_t i = 1; i + 1 < lines.size(); ++i) base64 += lines[i];
  std::string der;
  EXPECT_TRUE(absl::Base64Unescape(base64, &der));
  der.back() = static_cast<char>(der.back() ^ 1);
  std::string out = lines.front() + "\n";
  const std::string encoded = absl::Base64Escape(der);
  for (size_t i = 0; i < encoded.size(); i += 64) {
    absl::StrAppend(&out, encoded.substr(i, 64), "\n");
  }
  return absl::StrCat(out, lines.back(), "\n");
}

class PkiTest : public ::testing::Test {
 protected:
  // Real time, not a fixed date: certificates also meet OpenSSL's own
  // checks (openssl x509, TLS handshakes), which use the real clock.
  PkiTest() : clock_(absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()))) {}

  std::string CaDir() const { return dir_.Join("ca"); }

  std::unique_ptr<CertificateAuthority> LoadCa(const std::string& dir) {
    absl::StatusOr<std::unique_ptr<CertificateAuthority>> ca =
        CertificateAuthority::LoadOrCreate(dir, kCaName, clock_);
    EXPECT_TRUE(ca.ok()) << ca.status();
    return ca.ok() ? *std::move(ca) : nullptr;
  }

  // A fresh key and a request for it.
  std::pair<std::string, std::string> KeyAndRequest(const std::string& cn) {
    absl::StatusOr<std::string> key = GeneratePrivateKeyPem();
    EXPECT_TRUE(key.ok()) << key.status();
    absl::StatusOr<std::string> csr = MakeCertificateRequestPem(*key, cn);
    EXPECT_TRUE(csr.ok()) << csr.status();
    return {*key, *csr};
  }

  absl::StatusOr<IssuedCertificate> IssueFor(const CertificateAuthority& ca,
                                             const std::string& host) {
    return ca.Issue(KeyAndRequest(host).second, host, absl::Hours(24));
  }

  pyservice::testing::TempDir dir_;
  pyservice::testing::FakeClock clock_;
};

}  // namespace pyservice::tls

#endif  // PYSERVICE_TESTS_COMMON_TLS_PKI_FIXTURE_H_
