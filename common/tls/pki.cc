// Keys, requests and reading certificates; the CA itself is in
// certificate_authority.cc.
#include "common/tls/pki.h"

#include <openssl/pem.h>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/tls/x509_fields.h"

namespace pyservice::tls {

absl::StatusOr<std::string> GeneratePrivateKeyPem() {
  ClearOpenSslErrorsOnExit clear_errors;
  PkeyPtr key(EVP_EC_gen("P-256"));
  BioPtr bio(BIO_new(BIO_s_mem()));
  // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY"); no cipher:
  // a daemon has nobody to type a passphrase, the file mode protects it.
  if (key == nullptr || bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0,
                               nullptr, nullptr) != 1) {
    return absl::InternalError(
        absl::StrCat("cannot generate an EC P-256 key: ", OpenSslErrors()));
  }
  return MemoryBioText(*bio);
}

absl::StatusOr<std::string> MakeCertificateRequestPem(
    absl::string_view key_pem, absl::string_view common_name) {
  ClearOpenSslErrorsOnExit clear_errors;
  PkeyPtr key = ParsePrivateKeyPem(key_pem);
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        "certificate request: the private key does not parse");
  }
  const std::string name(common_name);
  X509ReqPtr request(X509_REQ_new());
  X509NamePtr subject(X509_NAME_new());
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (request == nullptr || subject == nullptr || bio == nullptr ||
      X509_REQ_set_version(request.get(), X509_REQ_VERSION_1) != 1 ||
      X509_NAME_add_entry_by_NID(
          subject.get(), NID_commonName, MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1,
          0) != 1 ||
      X509_REQ_set_subject_name(request.get(), subject.get()) != 1 ||
      X509_REQ_set_pubkey(request.get(), key.get()) != 1 ||
      X509_REQ_sign(request.get(), key.get(), EVP_sha256()) <= 0 ||
      PEM_write_bio_X509_REQ(bio.get(), request.get()) != 1) {
    return absl::InternalError(absl::StrCat(
        "cannot make a certificate request: ", OpenSslErrors()));
  }
  return MemoryBioText(*bio);
}

absl::StatusOr<CertificateInfo> ParseCertificate(absl::string_view cert_pem) {
  ClearOpenSslErrorsOnExit clear_errors;
  X509Ptr certificate = ParseCertificatePem(cert_pem);
  if (certificate == nullptr) {
    return absl::InvalidArgumentError(
        "certificate: no valid PEM certificate");
  }
  return ReadCertificateInfo(*certificate);
}

absl::Status ValidateHostName(absl::string_view host) {
  const auto allowed = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (!first && (c == '.' || c == '-'));
  };
  bool valid = !host.empty() && host.size() <= 63;
  for (size_t i = 0; valid && i < host.size(); ++i) {
    valid = allowed(host[i], i == 0);
  }
  if (valid) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "host name \"", host,
      "\": must match [a-z0-9][a-z0-9.-]{0,62} (lowercase letters, digits, "
      "dots and dashes, at most 63)"));
}

}  // namespace pyservice::tls
