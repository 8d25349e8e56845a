// Keeps the host's certificate fresh while the agent runs: a thread that
// checks at start and then every minute whether the certificate is due
// (AgentIdentity::RenewalDue, by the identity's clock) and renews it, or
// whether the operator wrote a new enrollment token (enrolls again). A
// failed renewal is logged and tried again at the next check; the current
// certificate stays in use until a renewal succeeds.
//
// The stream that is up keeps its connection (TLS checks certificates at
// the handshake only); the next connection uses the new certificate.
#ifndef PYSERVICE_AGENT_ENROLL_CERTIFICATE_RENEWER_H_
#define PYSERVICE_AGENT_ENROLL_CERTIFICATE_RENEWER_H_

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/enroll/agent_identity.h"

namespace pyservice::agent {

class CertificateRenewer {
 public:
  // `identity` must outlive the renewer.
  explicit CertificateRenewer(AgentIdentity& identity,
                              absl::Duration check_interval = absl::Minutes(1));
  // Stops.
  ~CertificateRenewer();
  CertificateRenewer(const CertificateRenewer&) = delete;
  CertificateRenewer& operator=(const CertificateRenewer&) = delete;

  // Starts the thread; once.
  void Start();
  // Ends the thread, waiting for a renewal in progress. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  void RenewIfDue();

  AgentIdentity& identity_;
  const absl::Duration check_interval_;
  // Used by the thread only.
  int failures_in_row_ = 0;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_ENROLL_CERTIFICATE_RENEWER_H_
