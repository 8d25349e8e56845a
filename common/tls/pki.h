// The controller's own certificate authority for agents, and the key and
// request handling agents need to enroll with it (docs/DESIGN.md, "Transport
// security", the trust model).
//
// An agent makes a key that never leaves the host and sends a certificate
// request (CSR); the controller checks its enrollment token and has the CA
// issue a certificate for the name the token was made for. The certificate
// is a client certificate only (it cannot serve TLS nor sign others), names
// the host as CN and DNS subjectAltName (what PeerIdentity() reads), and
// carries the URI subjectAltName urn:pyservice:agent:HOST, which marks it as
// an agent certificate: operator certificates from the same fleet CA lack it.
//
// Errors name files and fields, never key material.
#ifndef PYSERVICE_COMMON_TLS_PKI_H_
#define PYSERVICE_COMMON_TLS_PKI_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "common/tls/openssl_handles.h"

namespace pyservice::tls {

// The URI subjectAltName prefix of agent certificates.
inline constexpr absl::string_view kAgentUriPrefix = "urn:pyservice:agent:";

// A new EC P-256 private key, PEM PKCS#8, unencrypted.
absl::StatusOr<std::string> GeneratePrivateKeyPem();

// A PEM PKCS#10 request for `key_pem`'s public key with subject
// CN=common_name, signed with the key (which proves its possession).
// INVALID_ARGUMENT for a key that does not parse.
absl::StatusOr<std::string> MakeCertificateRequestPem(
    absl::string_view key_pem, absl::string_view common_name);

struct CertificateInfo {
  std::string common_name;  // the subject's CN; empty without one
  absl::Time not_before;
  absl::Time not_after;
  std::string serial;  // lowercase hex
};

// The first certificate in `cert_pem`. INVALID_ARGUMENT when there is none.
absl::StatusOr<CertificateInfo> ParseCertificate(absl::string_view cert_pem);

// OK when `host` can be certified: [a-z0-9][a-z0-9.-]{0,62} (a DNS name's
// characters, lowercase, so it compares as it reads); INVALID_ARGUMENT
// naming it otherwise.
absl::Status ValidateHostName(absl::string_view host);

struct IssuedCertificate {
  std::string certificate_pem;
  std::string serial;  // lowercase hex
  absl::Time not_before;
  absl::Time not_after;
};

// What a verified agent certificate says.
struct AgentCertificate {
  std::string host;
  std::string serial;  // lowercase hex
  absl::Time not_after;
};

// A CA's certificate and private key, PEM. The key is a secret: never
// logged, written only 0600 or sealed.
struct CaMaterial {
  std::string certificate_pem;
  std::string key_pem;
};

// Immutable once loaded: Issue and VerifyAgentCertificate are safe to call
// from several threads.
class CertificateAuthority {
 public:
  // The CA in `dir` (ca.crt and ca.key). When both are absent, creates `dir`
  // (0700) if needed and a new self-signed CA named CN=`name` there (EC
  // P-256, valid 10 years), the key written 0600 from the start. Refuses
  // with FAILED_PRECONDITION naming the file: a key that group or others may
  // access, one of the two files without the other, a key that is not the
  // certificate's, or a file that does not parse. `clock` must outlive the
  // CA: it dates issued certificates and decides what has expired.
  static absl::StatusOr<std::unique_ptr<CertificateAuthority>> LoadOrCreate(
      const std::string& dir, absl::string_view name, const Clock& clock);

  // A new self-signed CA named CN=`name` (EC P-256, valid 10 years from
  // `now`), in memory only.
  static absl::StatusOr<CaMaterial> NewCaMaterial(absl::string_view name, absl::Time now);
  // The CA in `dir` as LoadOrCreate reads it, with its checks; nullopt when
  // neither file is there. Writes nothing.
  static absl::StatusOr<std::optional<CaMaterial>> ReadCaDir(const std::string& dir);
  // The CA of `ca`; FAILED_PRECONDITION naming `origin` when the key is not
  // the certificate's or either does not parse.
  static absl::StatusOr<std::unique_ptr<CertificateAuthority>> FromPem(const CaMaterial& ca,
                                                                       absl::string_view origin,
                                                                       const Clock& clock);

  CertificateAuthority(const CertificateAuthority&) = delete;
  CertificateAuthority& operator=(const CertificateAuthority&) = delete;

  // The CA certificate, PEM: what the controller verifies agents by and
  // hands to them at enrollment.
  const std::string& certificate_pem() const { return certificate_pem_; }

  // An agent certificate for `host`'s key in `csr_pem`, valid from five
  // minutes ago (hosts' clocks differ) for `validity`. Only the request's
  // public key is used: its subject and extensions are ignored, the host
  // name is the caller's. INVALID_ARGUMENT for a request that does not
  // parse or whose signature does not verify (the requester does not hold
  // the key), a key weaker than P-256 or RSA 2048, a bad host name or a
  // validity that is not positive.
  absl::StatusOr<IssuedCertificate> Issue(absl::string_view csr_pem,
                                          absl::string_view host,
                                          absl::Duration validity) const;

  // The host an agent certificate was issued for. UNAUTHENTICATED, saying
  // why, unless this CA's key signed it, it is valid at the clock's now and
  // it carries the agent marker URI.
  absl::StatusOr<AgentCertificate> VerifyAgentCertificate(
      absl::string_view cert_pem) const;

 private:
  CertificateAuthority(X509Ptr certificate, PkeyPtr key,
                       std::string certificate_pem, const Clock& clock);

  const X509Ptr certificate_;
  const PkeyPtr key_;
  const std::string certificate_pem_;
  const Clock& clock_;
};

}  // namespace pyservice::tls

#endif  // PYSERVICE_COMMON_TLS_PKI_H_
