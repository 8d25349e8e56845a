// Who may call what: one table row per RPC the controller serves, and the
// one function that decides. Every RPC goes through it (the authorizing
// services, authorized_*_service.h); a test walks the services' descriptors
// so an RPC without a row fails the build's tests, not production.
//
// The rules (docs/SECURITY.md has them as a table):
//  * operator RPCs need an operator with at least the row's role; app-scoped
//    operators only reach the apps their patterns match;
//  * agent RPCs need an agent (its host certificate), or no credential at
//    all when the controller runs with --insecure-agents;
//  * Enroll needs nothing: the enrollment token in the request is the
//    credential, checked by the handler in one transaction with its use.
// Refusals: UNAUTHENTICATED when the caller brought no usable credential of
// the needed kind, PERMISSION_DENIED when it did and may not.
#ifndef PYSERVICE_CONTROLLER_AUTH_POLICY_H_
#define PYSERVICE_CONTROLLER_AUTH_POLICY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "controller/auth/principal.h"
#include "pyservice/v1/controller.pb.h"

namespace pyservice::controller::auth {

struct RpcPolicy {
  enum class Audience { kOperator, kAgent, kEnrollment };
  // "pyservice.v1.ControllerService" and "ApplyApp".
  absl::string_view service;
  absl::string_view method;
  Audience audience = Audience::kOperator;
  // Operators: the least role that may call it.
  v1::Role role = v1::ROLE_ADMIN;
  // Operators: the request names one app, which must be in scope.
  bool app_scoped = false;
};

// Every row, for the tests and docs.
const std::vector<RpcPolicy>& AllPolicies();
// The row of one RPC; nullptr for an RPC nobody listed (refuse it).
const RpcPolicy* FindPolicy(absl::string_view service, absl::string_view method);

struct AuthorizerOptions {
  // Accept agent streams without a certificate, trusting their Hello
  // (development and tests of other features only; logged at start).
  bool insecure_agents = false;
};

class Authorizer {
 public:
  explicit Authorizer(AuthorizerOptions options) : options_(options) {}

  // OK when `principal` may make the call `policy` describes on `app`
  // (the request's app, when policy.app_scoped). nullopt only for an
  // apply whose app.yaml does not parse: it names no app, and the service
  // refuses it, storing nothing, so the caller sees its errors.
  absl::Status Authorize(const Principal& principal, const RpcPolicy& policy,
                         const std::optional<std::string>& app = std::nullopt) const;

  // Whether a listing may show `app` to `principal` (scoped operators see
  // only their apps in ListApps and GetStatus).
  bool MaySee(const Principal& principal, absl::string_view app) const;

  bool insecure_agents() const { return options_.insecure_agents; }

 private:
  const AuthorizerOptions options_;
};

}  // namespace pyservice::controller::auth

#endif  // PYSERVICE_CONTROLLER_AUTH_POLICY_H_
