#include "controller/auth/guard.h"

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace pyservice::controller::auth {

namespace {

// Peers are logged with refusals; bounded, since a refusal must not become
// a way to write much into the controller's log.
std::string Bounded(absl::string_view text) {
  constexpr size_t kMax = 200;
  return text.size() <= kMax ? std::string(text) : absl::StrCat(text.substr(0, kMax), "…");
}

}  // namespace

absl::StatusOr<Principal> Guard::Check(const grpc::ServerContextBase& context,
                                       absl::string_view service, absl::string_view method,
                                       const std::optional<std::string>& app) const {
  const RpcPolicy* policy = FindPolicy(service, method);
  if (policy == nullptr) {
    spdlog::error("refused {}/{}: the access policy has no row for it", std::string(service),
                  std::string(method));
    return absl::PermissionDeniedError(absl::StrCat(method, ": not in the access policy"));
  }
  absl::StatusOr<Principal> principal = authenticator_.Authenticate(context);
  absl::Status allowed = principal.ok() ? authorizer_.Authorize(*principal, *policy, app)
                                        : principal.status();
  if (allowed.ok()) return principal;
  spdlog::warn("refused {} from {} ({}): {}", std::string(method),
               principal.ok() ? principal->name : std::string("unauthenticated caller"),
               Bounded(context.peer()), Bounded(allowed.message()));
  return allowed;
}

}  // namespace pyservice::controller::auth
