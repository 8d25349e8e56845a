// The operator-facing gRPC service (pyctl's API): apply, get, list, delete
// and history of app definitions, on top of the Store; hosts, fleet health,
// deploy progress, app logs and fleet events, from the fleet.
//
// A sync-API service: each unary call is a short store transaction or an
// in-memory read of the fleet, and gRPC's sync server runs them on its own
// thread pool. WatchApp, which lasts as long as a deploy, is a callback-API
// method (watch_app_reactor.h), so a waiting watcher holds no thread. The
// agents' long-lived streams use the callback API in their own service.
#ifndef PYSERVICE_CONTROLLER_SERVICE_CONTROLLER_SERVICE_H_
#define PYSERVICE_CONTROLLER_SERVICE_CONTROLLER_SERVICE_H_

#include "common/spec/fingerprint.h"
#include "common/spec/spec_policy.h"
#include "common/time/clock.h"
#include "controller/auth/access_registry.h"
#include "controller/fleet/fleet.h"
#include "controller/service/controller_service_base.h"
#include "controller/service/host_listing.h"
#include "controller/store/store.h"
#include "pyservice/v1/controller.grpc.pb.h"

namespace pyservice::controller {

class ControllerServiceImpl final : public ControllerServiceBase {
 public:
  // Every argument must outlive the service. Applies and deletes are told
  // to `fleet`, which deploys them. Secrets are shown, and digests keyed,
  // with `fingerprints` (the controller's fingerprint key). `access` serves
  // the token and host RPCs (access.cc); without it they are
  // FAILED_PRECONDITION. Who may call what is not decided here: the service
  // is served behind auth::AuthorizedControllerService. Every apply is
  // checked against the spec policy with the admin's `spec_policy`
  // exceptions (none by default).
  ControllerServiceImpl(Store& store, const Clock& clock, fleet::Fleet& fleet,
                        const spec::SecretFingerprinter& fingerprints,
                        auth::AccessRegistry* access = nullptr,
                        spec::SpecPolicy spec_policy = {})
      : store_(store), clock_(clock), fleet_(fleet), fingerprints_(fingerprints),
        access_(access), spec_policy_(std::move(spec_policy)), host_listing_(fleet.registry()) {}

  grpc::Status ApplyApp(grpc::ServerContext* context, const v1::ApplyAppRequest* request,
                        v1::ApplyAppResponse* response) override;
  grpc::Status GetApp(grpc::ServerContext* context, const v1::GetAppRequest* request,
                      v1::GetAppResponse* response) override;
  grpc::Status ListApps(grpc::ServerContext* context, const v1::ListAppsRequest* request,
                        v1::ListAppsResponse* response) override;
  grpc::Status DeleteApp(grpc::ServerContext* context, const v1::DeleteAppRequest* request,
                         v1::DeleteAppResponse* response) override;
  grpc::Status ListRevisions(grpc::ServerContext* context,
                             const v1::ListRevisionsRequest* request,
                             v1::ListRevisionsResponse* response) override;
  // Raw: the answer is HostListing's bytes (host_listing.h). The request
  // has no fields; it is not parsed.
  grpc::ServerUnaryReactor* ListHosts(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;
  grpc::Status GetStatus(grpc::ServerContext* context, const v1::GetStatusRequest* request,
                         v1::GetStatusResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchAppEvent>* WatchApp(
      grpc::CallbackServerContext* context, const v1::WatchAppRequest* request) override;

  // logs_and_events.cc. Sync streaming, like WatchRollout.
  grpc::Status TailLogs(grpc::ServerContext* context, const v1::TailLogsRequest* request,
                        grpc::ServerWriter<v1::TailLogsResponse>* writer) override;
  grpc::Status WatchEvents(grpc::ServerContext* context, const v1::WatchEventsRequest* request,
                           grpc::ServerWriter<v1::FleetEvent>* writer) override;

  grpc::Status StartRollout(grpc::ServerContext* context, const v1::StartRolloutRequest* request,
                            v1::Rollout* response) override;
  grpc::Status GetRollout(grpc::ServerContext* context, const v1::GetRolloutRequest* request,
                          v1::Rollout* response) override;
  // Sync streaming: one thread per watcher, which only operators run.
  grpc::Status WatchRollout(grpc::ServerContext* context, const v1::GetRolloutRequest* request,
                            grpc::ServerWriter<v1::Rollout>* writer) override;
  grpc::Status ControlRollout(grpc::ServerContext* context,
                              const v1::ControlRolloutRequest* request,
                              v1::Rollout* response) override;
  grpc::Status UndoRollout(grpc::ServerContext* context, const v1::UndoRolloutRequest* request,
                           v1::Rollout* response) override;
  grpc::Status ListRollouts(grpc::ServerContext* context, const v1::ListRolloutsRequest* request,
                            v1::ListRolloutsResponse* response) override;

  // Access (access.cc).
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
  // Answers with the stored rollout (or its error), every host's state in.
  grpc::Status Describe(const absl::StatusOr<StoredRollout>& stored, v1::Rollout* response);
  // Hands a stored rollout to the fleet's driver and answers with it.
  grpc::Status Adopted(const absl::StatusOr<StoredRollout>& stored, v1::Rollout* response);

  Store& store_;
  const Clock& clock_;
  fleet::Fleet& fleet_;
  const spec::SecretFingerprinter& fingerprints_;
  auth::AccessRegistry* const access_;
  const spec::SpecPolicy spec_policy_;
  HostListing host_listing_;
};

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_SERVICE_CONTROLLER_SERVICE_H_
