// The one gate every RPC passes: authenticate the call (authenticator.h),
// find the RPC's row (policy.h), authorize, and log a refusal once. The
// services call nothing else to decide who may do what.
#ifndef PYSERVICE_CONTROLLER_AUTH_GUARD_H_
#define PYSERVICE_CONTROLLER_AUTH_GUARD_H_

#include <optional>
#include <string>

#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/auth/authenticator.h"
#include "controller/auth/policy.h"
#include "controller/auth/principal.h"

namespace pyservice::controller::auth {

class Guard {
 public:
  // Both must outlive the guard.
  Guard(const Authenticator& authenticator, const Authorizer& authorizer)
      : authenticator_(authenticator), authorizer_(authorizer) {}

  // The caller of `service`/`method` ("pyservice.v1.ControllerService",
  // "ApplyApp") on `app` when it may make the call; UNAUTHENTICATED or
  // PERMISSION_DENIED (logged with the caller and the reason) when not.
  // PERMISSION_DENIED for an RPC the policy does not list.
  absl::StatusOr<Principal> Check(const grpc::ServerContextBase& context,
                                  absl::string_view service, absl::string_view method,
                                  const std::optional<std::string>& app = std::nullopt) const;

  const Authorizer& authorizer() const { return authorizer_; }

 private:
  const Authenticator& authenticator_;
  const Authorizer& authorizer_;
};

}  // namespace pyservice::controller::auth

#endif  // PYSERVICE_CONTROLLER_AUTH_GUARD_H_
