// Who this host is to the controller: its key and the certificate the
// controller's CA issued for it (docs/DESIGN.md, "Enrollment").
//
// At the first start the host makes a key, which never leaves it, and
// trades a single-use enrollment token and a request for that key for its
// certificate (AgentService.Enroll, over TLS without a client certificate:
// it has none yet). From then on it connects with that certificate (mutual
// TLS) and renews it over the same mutual TLS (RenewCertificate) before it
// expires, with a fresh key each time. The files are identity_files.h's.
#ifndef PYSERVICE_AGENT_ENROLL_AGENT_IDENTITY_H_
#define PYSERVICE_AGENT_ENROLL_AGENT_IDENTITY_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/enroll/enrollment_calls.h"
#include "agent/enroll/identity_files.h"
#include "common/time/clock.h"
#include "common/tls/pki.h"
#include "grpcpp/security/credentials.h"

namespace pyservice::agent {

struct IdentityOptions {
  // The credentials live in STATE_DIR/tls/.
  std::string state_dir;
  // The controller, and the CA its server certificate chains to (required:
  // the token must only ever reach the real controller).
  ControllerEndpoint controller;
  std::string tls_ca;
  // The enrollment token's file; empty: none (ReadEnrollmentToken's rules).
  std::string enrollment_token_file;
  // The name put in certificate requests. Only a hint: the controller
  // certifies the name the token was made for.
  std::string requested_host;
};

class AgentIdentity {
 public:
  // The host's identity: the certificate and key in STATE_DIR/tls when
  // they are there and the certificate has not expired (at `clock`'s now);
  // otherwise a new one from Enroll with the token, written before this
  // returns. FAILED_PRECONDITION telling the operator what to do without a
  // usable certificate and without a token; Enroll's own status (e.g.
  // UNAUTHENTICATED "enrollment token already used") when the controller
  // refuses. `clock` must outlive the identity.
  static absl::StatusOr<std::unique_ptr<AgentIdentity>> EnsureEnrolled(
      IdentityOptions options, const Clock& clock);

  AgentIdentity(const AgentIdentity&) = delete;
  AgentIdentity& operator=(const AgentIdentity&) = delete;

  // The host's name: its certificate's. Never changes.
  const std::string& host() const { return host_; }
  // Channel credentials with the current key and certificate as client
  // certificate: ask again for every new channel, since Renew() replaces
  // them. Any thread.
  std::shared_ptr<grpc::ChannelCredentials> Credentials() const
      ABSL_LOCKS_EXCLUDED(mu_);
  tls::CertificateInfo Certificate() const ABSL_LOCKS_EXCLUDED(mu_);
  // Whether less than a third of the certificate's lifetime remains: late
  // enough not to renew all the time, early enough that a controller away
  // for a while does not leave the host with an expired certificate.
  bool RenewalDue() const ABSL_LOCKS_EXCLUDED(mu_);
  // A new key, RenewCertificate for it over mutual TLS with the current
  // certificate, the files replaced, Credentials() switched. On failure the
  // current certificate stays in use. Not concurrently with itself.
  absl::Status Renew() ABSL_LOCKS_EXCLUDED(mu_);

  // Whether the enrollment token file holds a token the controller has not
  // answered for yet: how an operator enrolls a host again (after `pyctl
  // host revoke`, or for new labels) without touching STATE_DIR/tls. A
  // token is tried once: used, or refused, it is not tried again.
  bool NewEnrollmentTokenWaiting() const;
  // Enroll with that token: a new key and certificate, the files replaced,
  // Credentials() switched. The host's name cannot change while the agent
  // runs (FAILED_PRECONDITION, nothing replaced: restart the agent to take
  // the new name). On failure the current certificate stays in use. Not
  // concurrently with itself or Renew().
  absl::Status Reenroll() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  AgentIdentity(IdentityOptions options, const Clock& clock, std::string host,
                tls::CertificateInfo certificate,
                std::shared_ptr<grpc::ChannelCredentials> credentials);

  const IdentityOptions options_;
  const IdentityFiles files_;
  const Clock& clock_;
  const std::string host_;

  // Switches to the key and certificate just written to files_.
  absl::Status Use(tls::CertificateInfo certificate) ABSL_LOCKS_EXCLUDED(mu_);

  mutable absl::Mutex mu_;
  tls::CertificateInfo certificate_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<grpc::ChannelCredentials> credentials_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_ENROLL_AGENT_IDENTITY_H_
