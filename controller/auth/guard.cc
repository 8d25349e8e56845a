#include "controller/auth/guard.h"

#include "absl/strings/str_cat.h"
#include "common/text/log_text.h"
#include "spdlog/spdlog.h"

namespace pyservice::controller::auth {

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
  // Bounded and escaped: a refusal must not become a way to write much,
  // or forged lines, into the controller's log.
  spdlog::warn("refused {} from {} ({}): {}", std::string(method),
               principal.ok() ? principal->name : std::string("unauthenticated caller"),
               text::ForLog(context.peer()), text::ForLog(allowed.message()));
  return allowed;
}

}  // namespace pyservice::controller::auth
