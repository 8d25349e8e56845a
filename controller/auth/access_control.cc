#include "controller/auth/access_control.h"

#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace pyservice::controller::auth {

absl::StatusOr<std::unique_ptr<AccessControl>> AccessControl::Create(AccessStore& store,
                                                                     const std::string& ca_dir,
                                                                     const Clock& clock,
                                                                     AuthorizerOptions options) {
  absl::StatusOr<std::unique_ptr<tls::CertificateAuthority>> ca =
      tls::CertificateAuthority::LoadOrCreate(ca_dir, "pyservice agents", clock);
  if (!ca.ok()) {
    return absl::Status(ca.status().code(),
                        absl::StrCat("the CA in ", ca_dir, ": ", ca.status().message()));
  }
  return Create(store, *std::move(ca), clock, options);
}

absl::StatusOr<std::unique_ptr<AccessControl>> AccessControl::Create(
    AccessStore& store, std::unique_ptr<tls::CertificateAuthority> ca, const Clock& clock,
    AuthorizerOptions options) {
  auto agent_ca = std::make_unique<PkiAgentCa>(std::move(ca));
  absl::StatusOr<std::unique_ptr<AccessRegistry>> registry =
      AccessRegistry::Create(store, *agent_ca, clock);
  if (!registry.ok()) {
    return absl::Status(registry.status().code(),
                        absl::StrCat("access records: ", registry.status().message()));
  }
  return std::unique_ptr<AccessControl>(
      new AccessControl(std::move(agent_ca), *std::move(registry), options));
}

AccessControl::AccessControl(std::unique_ptr<PkiAgentCa> ca,
                             std::unique_ptr<AccessRegistry> registry, AuthorizerOptions options)
    : ca_(std::move(ca)),
      registry_(std::move(registry)),
      authenticator_(*registry_, local_peers_, geteuid()),
      authorizer_(options),
      guard_(authenticator_, authorizer_) {}

}  // namespace pyservice::controller::auth
