// The operator API as served: every RPC asks the Guard first (with the
// request's app for app-scoped RPCs), then runs the real service; listings
// are cut to the apps a scoped operator may see. The real service
// (controller/service/) knows nothing of callers.
//
// WhoAmI is answered here: it is about the caller, not the fleet.
#ifndef PYSERVICE_CONTROLLER_AUTH_AUTHORIZED_CONTROLLER_SERVICE_H_
#define PYSERVICE_CONTROLLER_AUTH_AUTHORIZED_CONTROLLER_SERVICE_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "controller/auth/guard.h"
#include "controller/service/controller_service_base.h"
#include "pyservice/v1/controller.grpc.pb.h"

namespace pyservice::controller::auth {

class AuthorizedControllerService final : public ControllerServiceBase {
 public:
  // Both must outlive the service.
  AuthorizedControllerService(ControllerServiceBase& inner, const Guard& guard)
      : inner_(inner), guard_(guard) {}

  grpc::Status ApplyApp(grpc::ServerContext* context, const v1::ApplyAppRequest* request,
                        v1::ApplyAppResponse* response) override;
  grpc::Status GetApp(grpc::ServerContext* context, const v1::GetAppRequest* request,
                      v1::GetAppResponse* response) override;
  grpc::Status ListApps(grpc::ServerContext* context, const v1::ListAppsRequest* request,
                        v1::ListAppsResponse* response) override;
  grpc::Status DeleteApp(grpc::ServerContext* context, const v1::DeleteAppRequest* request,
                         v1::DeleteAppResponse* response) override;
  grpc::Status ListRevisions(grpc::ServerContext* context, const v1::ListRevisionsRequest* request,
                             v1::ListRevisionsResponse* response) override;
  grpc::ServerUnaryReactor* ListHosts(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;
  grpc::Status GetStatus(grpc::ServerContext* context, const v1::GetStatusRequest* request,
                         v1::GetStatusResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchAppEvent>* WatchApp(
      grpc::CallbackServerContext* context, const v1::WatchAppRequest* request) override;
  grpc::Status TailLogs(grpc::ServerContext* context, const v1::TailLogsRequest* request,
                        grpc::ServerWriter<v1::TailLogsResponse>* writer) override;
  // A caller limited to some apps sees only their events (and host
  // events): its patterns replace an empty filter, and a filter it gives
  // must name apps in its scope.
  grpc::Status WatchEvents(grpc::ServerContext* context, const v1::WatchEventsRequest* request,
                           grpc::ServerWriter<v1::FleetEvent>* writer) override;
  grpc::Status StartRollout(grpc::ServerContext* context, const v1::StartRolloutRequest* request,
                            v1::Rollout* response) override;
  grpc::Status GetRollout(grpc::ServerContext* context, const v1::GetRolloutRequest* request,
                          v1::Rollout* response) override;
  grpc::Status WatchRollout(grpc::ServerContext* context, const v1::GetRolloutRequest* request,
                            grpc::ServerWriter<v1::Rollout>* writer) override;
  grpc::Status ControlRollout(grpc::ServerContext* context,
                              const v1::ControlRolloutRequest* request,
                              v1::Rollout* response) override;
  grpc::Status UndoRollout(grpc::ServerContext* context, const v1::UndoRolloutRequest* request,
                           v1::Rollout* response) override;
  grpc::Status ListRollouts(grpc::ServerContext* context, const v1::ListRolloutsRequest* request,
                            v1::ListRolloutsResponse* response) override;
  grpc::Status WhoAmI(grpc::ServerContext* context, const v1::WhoAmIRequest* request,
                      v1::WhoAmIResponse* response) override;
  grpc::Status CreateToken(grpc::ServerContext* context, const v1::CreateTokenRequest* request,
                           v1::CreateTokenResponse* response) override;
  grpc::Status ListTokens(grpc::ServerContext* context, const v1::ListTokensRequest* request,
                          v1::ListTokensResponse* response) override;
  grpc::Status RevokeToken(grpc::ServerContext* context, const v1::RevokeTokenRequest* request,
                           v1::RevokeTokenResponse* response) override;
  grpc::Status CreateEnrollmentToken(grpc::ServerContext* context,
                                     const v1::CreateEnrollmentTokenRequest* request,
                                     v1::CreateEnrollmentTokenResponse* response) override;
  grpc::Status RevokeHost(grpc::ServerContext* context, const v1::RevokeHostRequest* request,
                          v1::RevokeHostResponse* response) override;

 private:
  absl::StatusOr<Principal> Check(const grpc::ServerContextBase& context,
                                  absl::string_view method,
                                  const std::optional<std::string>& app = std::nullopt) const;

  ControllerServiceBase& inner_;
  const Guard& guard_;
};

}  // namespace pyservice::controller::auth

#endif  // PYSERVICE_CONTROLLER_AUTH_AUTHORIZED_CONTROLLER_SERVICE_H_
