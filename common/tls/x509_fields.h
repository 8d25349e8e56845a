// Building and reading X.509 certificates with OpenSSL, shared by the CA's
// self-signed certificate and the agent certificates it issues (pki.h).
// Internal to common/tls/.
#ifndef PYSERVICE_COMMON_TLS_X509_FIELDS_H_
#define PYSERVICE_COMMON_TLS_X509_FIELDS_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls/openssl_handles.h"
#include "common/tls/pki.h"

namespace pyservice::tls {

struct CertificateFields {
  std::string common_name;
  absl::Time not_before;
  absl::Time not_after;
  // Extensions as (NID, value in OpenSSL's config syntax), e.g.
  // {NID_basic_constraints, "critical,CA:FALSE"}. Values are built from
  // validated names only: the syntax gives commas a meaning.
  std::vector<std::pair<int, std::string>> extensions;
};

// A v3 certificate for `subject_key` with a random positive 128-bit serial,
// signed (SHA-256) by `issuer_key`. `issuer` is the issuer's certificate;
// null makes a self-signed one (then `issuer_key` must be `subject_key`).
absl::StatusOr<X509Ptr> SignCertificate(const CertificateFields& fields,
                                        EVP_PKEY& subject_key,
                                        const X509* issuer,
                                        EVP_PKEY& issuer_key);

// PEM of `certificate`.
absl::StatusOr<std::string> CertificateToPem(X509& certificate);

// The subject's CN, dates and serial of `certificate`.
absl::StatusOr<CertificateInfo> ReadCertificateInfo(const X509& certificate);

// The public key of a certificate request whose signature it verifies
// (proof that the requester holds the private key). INVALID_ARGUMENT
// otherwise, or for a key weaker than 112 bits of security (P-256, RSA
// 2048).
absl::StatusOr<PkeyPtr> VerifiedRequestKey(X509_REQ& request);

// The host in the certificate's urn:pyservice:agent:HOST subjectAltName;
// nullopt without one.
std::optional<std::string> AgentHostOf(const X509& certificate);

}  // namespace pyservice::tls

#endif  // PYSERVICE_COMMON_TLS_X509_FIELDS_H_
