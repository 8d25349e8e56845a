// The controller's own CA as the access layer uses it: it certifies
// enrolled hosts and recognises their certificates. The mechanism is
// tls::CertificateAuthority (common/tls/pki.h, OpenSSL); tests may fake it.
#ifndef PYSERVICE_CONTROLLER_AUTH_AGENT_CA_H_
#define PYSERVICE_CONTROLLER_AUTH_AGENT_CA_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pyservice::controller::auth {

struct IssuedAgentCertificate {
  std::string pem;
  // Lowercase hex.
  std::string serial;
  absl::Time not_before;
  absl::Time not_after;
};

struct VerifiedAgentCertificate {
  std::string host;
  std::string serial;
  absl::Time not_after;
};

class AgentCa {
 public:
  virtual ~AgentCa() = default;
  // A certificate for `host` over the public key of `csr_pem` (whose own
  // signature must verify; its subject is ignored). INVALID_ARGUMENT for a
  // bad request.
  virtual absl::StatusOr<IssuedAgentCertificate> Issue(const std::string& csr_pem,
                                                       const std::string& host,
                                                       absl::Duration validity) = 0;
  // UNAUTHENTICATED unless `certificate_pem` is an unexpired agent
  // certificate this CA signed.
  virtual absl::StatusOr<VerifiedAgentCertificate> Verify(
      const std::string& certificate_pem) const = 0;
  // PEM of the CA certificate (what agents' certificates chain to).
  virtual const std::string& certificate_pem() const = 0;
};

}  // namespace pyservice::controller::auth

#endif  // PYSERVICE_CONTROLLER_AUTH_AGENT_CA_H_
