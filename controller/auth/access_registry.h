// The live view of who may use the controller, over the AccessStore:
// operator tokens, enrollment, and which host certificates are valid. Every
// change is written to the store first and then to memory, so
// authentication (Authenticator, once per RPC) reads only memory.
#ifndef PYSERVICE_CONTROLLER_AUTH_ACCESS_REGISTRY_H_
#define PYSERVICE_CONTROLLER_AUTH_ACCESS_REGISTRY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "controller/auth/agent_ca.h"
#include "controller/store/access_store.h"
#include "pyservice/v1/controller.pb.h"

namespace pyservice::controller::auth {

// A token as created: the text to hand the operator once, and the row.
struct NewToken {
  std::string text;
  StoredToken stored;
};

struct NewEnrollmentToken {
  std::string text;
  StoredEnrollmentToken stored;
};

// What Enroll and RenewCertificate answer.
struct HostCertificate {
  IssuedAgentCertificate certificate;
  std::string host;
  std::map<std::string, std::string> labels;
};

class AccessRegistry {
 public:
  // Loads every token and certificate. `store`, `ca` and `clock` must
  // outlive the registry.
  static absl::StatusOr<std::unique_ptr<AccessRegistry>> Create(AccessStore& store, AgentCa& ca,
                                                                const Clock& clock);

  // ---- operator tokens ----
  // INVALID_ARGUMENT for a bad name, role, pattern, or a scoped admin.
  absl::StatusOr<NewToken> CreateToken(const std::string& name, v1::Role role,
                                       const std::vector<std::string>& apps, absl::Duration ttl);
  absl::StatusOr<std::vector<StoredToken>> ListTokens() const;
  absl::Status RevokeToken(const std::string& name);
  // The valid token `text` is; UNAUTHENTICATED saying why (malformed,
  // unknown, revoked, expired) otherwise.
  absl::StatusOr<StoredToken> CheckToken(const std::string& text) const;

  // ---- hosts ----
  // INVALID_ARGUMENT for a bad host name or labels; ttl 0 is one hour.
  absl::StatusOr<NewEnrollmentToken> CreateEnrollmentToken(
      const std::string& host, const std::map<std::string, std::string>& labels,
      absl::Duration ttl);
  // Uses enrollment token `token_text` (once) to certify `csr_pem`'s key
  // for the token's host. UNAUTHENTICATED for a bad token, INVALID_ARGUMENT
  // for a bad request (the token stays unused then).
  absl::StatusOr<HostCertificate> Enroll(const std::string& token_text, const std::string& csr_pem);
  // A new certificate for `host`, which must be enrolled and not revoked.
  absl::StatusOr<HostCertificate> Renew(const std::string& host, const std::string& csr_pem);
  // Revokes every certificate of `host`; returns how many.
  absl::StatusOr<uint32_t> RevokeHost(const std::string& host);
  // The host and bound labels of a valid agent certificate;
  // UNAUTHENTICATED when the CA did not issue it, it expired, or it is
  // revoked or unknown to the store.
  absl::StatusOr<HostCertificate> CheckCertificate(const std::string& certificate_pem) const;

  // PEM of the CA that issues host certificates.
  const std::string& ca_certificate_pem() const { return ca_.certificate_pem(); }

  // How long issued certificates live (agents renew after two thirds).
  static constexpr absl::Duration kCertificateLifetime = absl::Hours(24 * 30);

 private:
  struct CertificateState {
    std::string host;
    bool revoked = false;
  };

  AccessRegistry(AccessStore& store, AgentCa& ca, const Clock& clock)
      : store_(store), ca_(ca), clock_(clock) {}
  absl::StatusOr<HostCertificate> IssueFor(const std::string& host, const std::string& csr_pem);

  AccessStore& store_;
  AgentCa& ca_;
  const Clock& clock_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint32_t, StoredToken> tokens_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, CertificateState> certificates_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::map<std::string, std::string>> host_labels_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pyservice::controller::auth

#endif  // PYSERVICE_CONTROLLER_AUTH_ACCESS_REGISTRY_H_
