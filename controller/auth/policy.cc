#include "controller/auth/policy.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/auth/app_scope.h"

namespace pyservice::controller::auth {

namespace {

constexpr absl::string_view kController = "pyservice.v1.ControllerService";
constexpr absl::string_view kAgent = "pyservice.v1.AgentService";
using Audience = RpcPolicy::Audience;

RpcPolicy Operator(absl::string_view method, v1::Role role, bool app_scoped) {
  return {kController, method, Audience::kOperator, role, app_scoped};
}

int Rank(v1::Role role) {
  switch (role) {
    case v1::ROLE_VIEWER: return 1;
    case v1::ROLE_DEPLOYER: return 2;
    case v1::ROLE_ADMIN: return 3;
    default: return 0;
  }
}

}  // namespace

const char* RoleName(v1::Role role) {
  switch (role) {
    case v1::ROLE_VIEWER: return "viewer";
    case v1::ROLE_DEPLOYER: return "deployer";
    case v1::ROLE_ADMIN: return "admin";
    default: return "none";
  }
}

const std::vector<RpcPolicy>& AllPolicies() {
  static const std::vector<RpcPolicy>* const policies = new std::vector<RpcPolicy>{
      Operator("ApplyApp", v1::ROLE_DEPLOYER, true),
      Operator("GetApp", v1::ROLE_VIEWER, true),
      Operator("ListApps", v1::ROLE_VIEWER, false),
      Operator("DeleteApp", v1::ROLE_DEPLOYER, true),
      Operator("ListRevisions", v1::ROLE_VIEWER, true),
      Operator("ListHosts", v1::ROLE_VIEWER, false),
      Operator("GetStatus", v1::ROLE_VIEWER, false),
      Operator("WatchApp", v1::ROLE_VIEWER, true),
      // App output may hold anything the app logs: only callers who may
      // see the app may read it.
      Operator("TailLogs", v1::ROLE_VIEWER, true),
      // Not app-scoped: a scoped caller sees only its apps' events (and
      // host events), as in ListApps.
      Operator("WatchEvents", v1::ROLE_VIEWER, false),
      Operator("StartRollout", v1::ROLE_DEPLOYER, true),
      Operator("GetRollout", v1::ROLE_VIEWER, true),
      Operator("WatchRollout", v1::ROLE_VIEWER, true),
      Operator("ControlRollout", v1::ROLE_DEPLOYER, true),
      Operator("UndoRollout", v1::ROLE_DEPLOYER, true),
      Operator("ListRollouts", v1::ROLE_VIEWER, true),
      Operator("WhoAmI", v1::ROLE_VIEWER, false),
      Operator("CreateToken", v1::ROLE_ADMIN, false),
      Operator("ListTokens", v1::ROLE_ADMIN, false),
      Operator("RevokeToken", v1::ROLE_ADMIN, false),
      Operator("CreateEnrollmentToken", v1::ROLE_ADMIN, false),
      Operator("RevokeHost", v1::ROLE_ADMIN, false),
      {kAgent, "Connect", Audience::kAgent},
      {kAgent, "RenewCertificate", Audience::kAgent},
      {kAgent, "Enroll", Audience::kEnrollment},
  };
  return *policies;
}

const RpcPolicy* FindPolicy(absl::string_view service, absl::string_view method) {
  for (const RpcPolicy& policy : AllPolicies()) {
    if (policy.service == service && policy.method == method) return &policy;
  }
  return nullptr;
}

absl::Status Authorizer::Authorize(const Principal& principal, const RpcPolicy& policy,
                                   const std::optional<std::string>& app) const {
  using Kind = Principal::Kind;
  switch (policy.audience) {
    case Audience::kEnrollment:
      return absl::OkStatus();
    case Audience::kAgent:
      if (principal.kind == Kind::kAgent) return absl::OkStatus();
      if (principal.kind == Kind::kOperator) {
        return absl::PermissionDeniedError(absl::StrCat(
            policy.method, ": operator credentials (", principal.name,
            ") cannot act as an agent; agents use the host certificate they enrolled for"));
      }
      if (options_.insecure_agents && policy.method == "Connect") return absl::OkStatus();
      return absl::UnauthenticatedError(absl::StrCat(
          policy.method,
          ": agents need their host certificate: enroll the host with a token from "
          "`pyctl host enroll-token NAME` (agent --enrollment-token-file)"));
    case Audience::kOperator:
      break;
  }
  if (principal.kind == Kind::kAgent) {
    return absl::PermissionDeniedError(absl::StrCat(
        policy.method, ": agent credentials (", principal.name,
        ") cannot call the operator API"));
  }
  if (principal.kind != Kind::kOperator) {
    return absl::UnauthenticatedError(absl::StrCat(
        policy.method,
        ": no operator credential: give a token with --token-file or PYCTL_TOKEN "
        "(or, as root on the controller's machine, use its admin socket)"));
  }
  if (Rank(principal.role) < Rank(policy.role)) {
    return absl::PermissionDeniedError(absl::StrCat(
        policy.method, ": ", principal.name, " is a ", RoleName(principal.role),
        "; this needs ", RoleName(policy.role)));
  }
  if (policy.app_scoped && app.has_value() && !InScope(principal.apps, *app)) {
    return absl::PermissionDeniedError(absl::StrCat(
        policy.method, ": ", principal.name, " is limited to apps [",
        absl::StrJoin(principal.apps, ", "), "], not \"", *app, "\""));
  }
  return absl::OkStatus();
}

bool Authorizer::MaySee(const Principal& principal, absl::string_view app) const {
  return principal.kind == Principal::Kind::kOperator && InScope(principal.apps, app);
}

}  // namespace pyservice::controller::auth
