// The operator-facing gRPC service (pyctl's API): apply, get, list, delete
// and history of app definitions, on top of the Store; hosts, fleet health
// and deploy progress, from the fleet.
//
// A sync-API service: each unary call is a short store transaction or an
// in-memory read of the fleet, and gRPC's sync server runs them on its own
// thread pool. WatchApp, which lasts as long as a deploy, is a callback-API
// method (watch_app_reactor.h), so a waiting watcher holds no thread. The
// agents' long-lived streams use the callback API in their own service.
#ifndef PYSERVICE_CONTROLLER_SERVICE_CONTROLLER_SERVICE_H_
#define PYSERVICE_CONTROLLER_SERVICE_CONTROLLER_SERVICE_H_

#include "common/time/clock.h"
#include "controller/fleet/fleet.h"
#include "controller/store/store.h"
#include "pyservice/v1/controller.grpc.pb.h"

namespace pyservice::controller {

class ControllerServiceImpl final
    : public v1::ControllerService::WithCallbackMethod_WatchApp<v1::ControllerService::Service> {
 public:
  // Every argument must outlive the service. Applies and deletes are told
  // to `fleet`, which deploys them.
  ControllerServiceImpl(Store& store, const Clock& clock, fleet::Fleet& fleet)
      : store_(store), clock_(clock), fleet_(fleet) {}

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
  grpc::Status ListHosts(grpc::ServerContext* context, const v1::ListHostsRequest* request,
                         v1::ListHostsResponse* response) override;
  grpc::Status GetStatus(grpc::ServerContext* context, const v1::GetStatusRequest* request,
                         v1::GetStatusResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchAppEvent>* WatchApp(
      grpc::CallbackServerContext* context, const v1::WatchAppRequest* request) override;

 private:
  Store& store_;
  const Clock& clock_;
  fleet::Fleet& fleet_;
};

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_SERVICE_CONTROLLER_SERVICE_H_
