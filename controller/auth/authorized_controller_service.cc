#include "controller/auth/authorized_controller_service.h"

#include <algorithm>
#include <utility>

#include "common/spec/app_spec_parser.h"
#include "common/status/grpc_status.h"
#include "controller/auth/app_scope.h"
#include "controller/auth/policy.h"
#include "controller/auth/refused_reactor.h"

namespace pyservice::controller::auth {

namespace {

constexpr absl::string_view kService = "pyservice.v1.ControllerService";

}  // namespace

absl::StatusOr<Principal> AuthorizedControllerService::Check(
    const grpc::ServerContextBase& context, absl::string_view method,
    const std::optional<std::string>& app) const {
  return guard_.Check(context, kService, method, app);
}

// The pattern of every RPC below: ask the guard, then run the real call.
#define PYSERVICE_GUARD(method, app)                                       \
  if (absl::StatusOr<Principal> caller = Check(*context, method, app);    \
      !caller.ok()) {                                                      \
    return ToGrpcStatus(caller.status());                                  \
  }

grpc::Status AuthorizedControllerService::ApplyApp(grpc::ServerContext* context,
                                                   const v1::ApplyAppRequest* request,
                                                   v1::ApplyAppResponse* response) {
  // The app is named inside the document. One that does not parse names
  // none; the service then refuses it with its errors (Authorize's note).
  absl::StatusOr<v1::AppSpec> spec = spec::ParseAppSpec(request->yaml(), request->source_name());
  PYSERVICE_GUARD("ApplyApp", spec.ok() ? std::optional<std::string>(spec->name()) : std::nullopt);
  return inner_.ApplyApp(context, request, response);
}

grpc::Status AuthorizedControllerService::GetApp(grpc::ServerContext* context,
                                                 const v1::GetAppRequest* request,
                                                 v1::GetAppResponse* response) {
  PYSERVICE_GUARD("GetApp", request->name());
  return inner_.GetApp(context, request, response);
}

grpc::Status AuthorizedControllerService::ListApps(grpc::ServerContext* context,
                                                   const v1::ListAppsRequest* request,
                                                   v1::ListAppsResponse* response) {
  absl::StatusOr<Principal> caller = Check(*context, "ListApps");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  grpc::Status status = inner_.ListApps(context, request, response);
  auto* apps = response->mutable_apps();
  apps->erase(std::remove_if(apps->begin(), apps->end(),
                             [&](const v1::AppSummary& app) {
                               return !guard_.authorizer().MaySee(*caller, app.name());
                             }),
              apps->end());
  return status;
}

grpc::Status AuthorizedControllerService::DeleteApp(grpc::ServerContext* context,
                                                    const v1::DeleteAppRequest* request,
                                                    v1::DeleteAppResponse* response) {
  PYSERVICE_GUARD("DeleteApp", request->name());
  return inner_.DeleteApp(context, request, response);
}

grpc::Status AuthorizedControllerService::ListRevisions(grpc::ServerContext* context,
                                                        const v1::ListRevisionsRequest* request,
                                                        v1::ListRevisionsResponse* response) {
  PYSERVICE_GUARD("ListRevisions", request->name());
  return inner_.ListRevisions(context, request, response);
}

grpc::ServerUnaryReactor* AuthorizedControllerService::ListHosts(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  if (absl::StatusOr<Principal> caller = Check(*context, "ListHosts"); !caller.ok()) {
    grpc::ServerUnaryReactor* refused = context->DefaultReactor();
    refused->Finish(ToGrpcStatus(caller.status()));
    return refused;
  }
  return inner_.ListHosts(context, request, response);
}

grpc::Status AuthorizedControllerService::GetStatus(grpc::ServerContext* context,
                                                    const v1::GetStatusRequest* request,
                                                    v1::GetStatusResponse* response) {
  absl::StatusOr<Principal> caller = Check(*context, "GetStatus");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  // One app: like any app-scoped call. Every app: only those in scope.
  if (!request->app().empty() && !guard_.authorizer().MaySee(*caller, request->app())) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "GetStatus: " + caller->name + " may not see app \"" + request->app() +
                            "\"");
  }
  grpc::Status status = inner_.GetStatus(context, request, response);
  auto* apps = response->mutable_apps();
  apps->erase(std::remove_if(apps->begin(), apps->end(),
                             [&](const v1::AppStatus& app) {
                               return !guard_.authorizer().MaySee(*caller, app.app());
                             }),
              apps->end());
  return status;
}

grpc::ServerWriteReactor<v1::WatchAppEvent>* AuthorizedControllerService::WatchApp(
    grpc::CallbackServerContext* context, const v1::WatchAppRequest* request) {
  if (absl::StatusOr<Principal> caller = Check(*context, "WatchApp", request->app());
      !caller.ok()) {
    return new RefusedWriteReactor<v1::WatchAppEvent>(ToGrpcStatus(caller.status()));
  }
  return inner_.WatchApp(context, request);
}

grpc::Status AuthorizedControllerService::TailLogs(
    grpc::ServerContext* context, const v1::TailLogsRequest* request,
    grpc::ServerWriter<v1::TailLogsResponse>* writer) {
  PYSERVICE_GUARD("TailLogs", request->app());
  return inner_.TailLogs(context, request, writer);
}

grpc::Status AuthorizedControllerService::WatchEvents(grpc::ServerContext* context,
                                                      const v1::WatchEventsRequest* request,
                                                      grpc::ServerWriter<v1::FleetEvent>* writer) {
  absl::StatusOr<Principal> caller = Check(*context, "WatchEvents");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (caller->apps.empty()) return inner_.WatchEvents(context, request, writer);
  v1::WatchEventsRequest scoped = *request;
  if (scoped.apps().empty()) {
    for (const std::string& pattern : caller->apps) scoped.add_apps(pattern);
  }
  for (const std::string& app : scoped.apps()) {
    // A pattern of the caller's own, or an app name within it; another
    // pattern could reach past the scope.
    const bool own = std::find(caller->apps.begin(), caller->apps.end(), app) !=
                     caller->apps.end();
    if (!own && (app.find('*') != std::string::npos || !InScope(caller->apps, app))) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "WatchEvents: " + caller->name + " may not see events of \"" + app +
                              "\"");
    }
  }
  return inner_.WatchEvents(context, &scoped, writer);
}

grpc::Status AuthorizedControllerService::StartRollout(grpc::ServerContext* context,
                                                       const v1::StartRolloutRequest* request,
                                                       v1::Rollout* response) {
  PYSERVICE_GUARD("StartRollout", request->app());
  return inner_.StartRollout(context, request, response);
}

grpc::Status AuthorizedControllerService::GetRollout(grpc::ServerContext* context,
                                                     const v1::GetRolloutRequest* request,
                                                     v1::Rollout* response) {
  PYSERVICE_GUARD("GetRollout", request->app());
  return inner_.GetRollout(context, request, response);
}

grpc::Status AuthorizedControllerService::WatchRollout(grpc::ServerContext* context,
                                                       const v1::GetRolloutRequest* request,
                                                       grpc::ServerWriter<v1::Rollout>* writer) {
  PYSERVICE_GUARD("WatchRollout", request->app());
  return inner_.WatchRollout(context, request, writer);
}

grpc::Status AuthorizedControllerService::ControlRollout(grpc::ServerContext* context,
                                                         const v1::ControlRolloutRequest* request,
                                                         v1::Rollout* response) {
  PYSERVICE_GUARD("ControlRollout", request->app());
  return inner_.ControlRollout(context, request, response);
}

grpc::Status AuthorizedControllerService::UndoRollout(grpc::ServerContext* context,
                                                      const v1::UndoRolloutRequest* request,
                                                      v1::Rollout* response) {
  PYSERVICE_GUARD("UndoRollout", request->app());
  return inner_.UndoRollout(context, request, response);
}

grpc::Status AuthorizedControllerService::ListRollouts(grpc::ServerContext* context,
                                                       const v1::ListRolloutsRequest* request,
                                                       v1::ListRolloutsResponse* response) {
  PYSERVICE_GUARD("ListRollouts", request->app());
  return inner_.ListRollouts(context, request, response);
}

grpc::Status AuthorizedControllerService::WhoAmI(grpc::ServerContext* context,
                                                 const v1::WhoAmIRequest*,
                                                 v1::WhoAmIResponse* response) {
  absl::StatusOr<Principal> caller = Check(*context, "WhoAmI");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  response->set_name(caller->name);
  response->set_role(caller->role);
  for (const std::string& app : caller->apps) response->add_apps(app);
  response->set_credential(caller->credential);
  return grpc::Status::OK;
}

grpc::Status AuthorizedControllerService::CreateToken(grpc::ServerContext* context,
                                                      const v1::CreateTokenRequest* request,
                                                      v1::CreateTokenResponse* response) {
  PYSERVICE_GUARD("CreateToken", std::nullopt);
  return inner_.CreateToken(context, request, response);
}

grpc::Status AuthorizedControllerService::ListTokens(grpc::ServerContext* context,
                                                     const v1::ListTokensRequest* request,
                                                     v1::ListTokensResponse* response) {
  PYSERVICE_GUARD("ListTokens", std::nullopt);
  return inner_.ListTokens(context, request, response);
}

grpc::Status AuthorizedControllerService::RevokeToken(grpc::ServerContext* context,
                                                      const v1::RevokeTokenRequest* request,
                                                      v1::RevokeTokenResponse* response) {
  PYSERVICE_GUARD("RevokeToken", std::nullopt);
  return inner_.RevokeToken(context, request, response);
}

grpc::Status AuthorizedControllerService::CreateEnrollmentToken(
    grpc::ServerContext* context, const v1::CreateEnrollmentTokenRequest* request,
    v1::CreateEnrollmentTokenResponse* response) {
  PYSERVICE_GUARD("CreateEnrollmentToken", std::nullopt);
  return inner_.CreateEnrollmentToken(context, request, response);
}

grpc::Status AuthorizedControllerService::RevokeHost(grpc::ServerContext* context,
                                                     const v1::RevokeHostRequest* request,
                                                     v1::RevokeHostResponse* response) {
  PYSERVICE_GUARD("RevokeHost", std::nullopt);
  return inner_.RevokeHost(context, request, response);
}

#undef PYSERVICE_GUARD

}  // namespace pyservice::controller::auth
