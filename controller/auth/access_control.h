// The access layer assembled: the controller's CA, the registry over the
// store, the admin socket's peers, the authenticator, the authorizer and
// the guard, built once and shared by main.cc and the tests that serve the
// controller as main.cc does.
#ifndef PYSERVICE_CONTROLLER_AUTH_ACCESS_CONTROL_H_
#define PYSERVICE_CONTROLLER_AUTH_ACCESS_CONTROL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/tls/pki.h"
#include "common/time/clock.h"
#include "controller/auth/access_registry.h"
#include "controller/auth/authenticator.h"
#include "controller/auth/guard.h"
#include "controller/auth/local_peers.h"
#include "controller/auth/pki_agent_ca.h"
#include "controller/auth/policy.h"
#include "controller/store/access_store.h"

namespace pyservice::controller::auth {

class AccessControl {
 public:
  // Loads (or on first use creates) the CA in `ca_dir` and the access
  // records of `store`. `store` and `clock` must outlive the result.
  // Errors name the CA dir or the store.
  static absl::StatusOr<std::unique_ptr<AccessControl>> Create(AccessStore& store,
                                                               const std::string& ca_dir,
                                                               const Clock& clock,
                                                               AuthorizerOptions options);
  // The same over a CA loaded elsewhere (on etcd: etcd_agent_ca.h).
  static absl::StatusOr<std::unique_ptr<AccessControl>> Create(
      AccessStore& store, std::unique_ptr<tls::CertificateAuthority> ca, const Clock& clock,
      AuthorizerOptions options);

  AccessRegistry& registry() { return *registry_; }
  LocalPeers& local_peers() { return local_peers_; }
  const Guard& guard() const { return guard_; }
  // PEM of the CA agents' certificates chain to.
  const std::string& ca_certificate_pem() const { return ca_->certificate_pem(); }

 private:
  AccessControl(std::unique_ptr<PkiAgentCa> ca, std::unique_ptr<AccessRegistry> registry,
                AuthorizerOptions options);

  const std::unique_ptr<PkiAgentCa> ca_;
  const std::unique_ptr<AccessRegistry> registry_;
  LocalPeers local_peers_;
  const Authenticator authenticator_;
  const Authorizer authorizer_;
  const Guard guard_;
};

}  // namespace pyservice::controller::auth

#endif  // PYSERVICE_CONTROLLER_AUTH_ACCESS_CONTROL_H_
