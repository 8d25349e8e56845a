// AgentCa on tls::CertificateAuthority (common/tls/pki.h): the controller's
// own CA, kept in its CA dir.
#ifndef PYSERVICE_CONTROLLER_AUTH_PKI_AGENT_CA_H_
#define PYSERVICE_CONTROLLER_AUTH_PKI_AGENT_CA_H_

#include <memory>
#include <string>

#include "common/tls/pki.h"
#include "controller/auth/agent_ca.h"

namespace pyservice::controller::auth {

class PkiAgentCa final : public AgentCa {
 public:
  explicit PkiAgentCa(std::unique_ptr<tls::CertificateAuthority> ca) : ca_(std::move(ca)) {}

  absl::StatusOr<IssuedAgentCertificate> Issue(const std::string& csr_pem,
                                               const std::string& host,
                                               absl::Duration validity) override {
    absl::StatusOr<tls::IssuedCertificate> issued = ca_->Issue(csr_pem, host, validity);
    if (!issued.ok()) return issued.status();
    return IssuedAgentCertificate{std::move(issued->certificate_pem), std::move(issued->serial),
                                  issued->not_before, issued->not_after};
  }

  absl::StatusOr<VerifiedAgentCertificate> Verify(
      const std::string& certificate_pem) const override {
    absl::StatusOr<tls::AgentCertificate> verified = ca_->VerifyAgentCertificate(certificate_pem);
    if (!verified.ok()) return verified.status();
    return VerifiedAgentCertificate{std::move(verified->host), std::move(verified->serial),
                                    verified->not_after};
  }

  const std::string& certificate_pem() const override { return ca_->certificate_pem(); }

 private:
  const std::unique_ptr<tls::CertificateAuthority> ca_;
};

}  // namespace pyservice::controller::auth

#endif  // PYSERVICE_CONTROLLER_AUTH_PKI_AGENT_CA_H_
