// The operator-facing gRPC service (pyctl's API): apply, get, list, delete
// and history of app definitions, on top of the Store.
//
// A sync-API service: each call is a short store transaction, and gRPC's
// sync server runs them on its own thread pool. The agents' long-lived
// streams use the callback API in their own service.
#ifndef PYSERVICE_CONTROLLER_SERVICE_CONTROLLER_SERVICE_H_
#define PYSERVICE_CONTROLLER_SERVICE_CONTROLLER_SERVICE_H_

#include "common/time/clock.h"
#include "controller/store/store.h"
#include "pyservice/v1/controller.grpc.pb.h"

namespace pyservice::controller {

class ControllerServiceImpl final : public v1::ControllerService::Service {
 public:
  ControllerServiceImpl(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

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

 private:
  Store& store_;
  const Clock& clock_;
};

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_SERVICE_CONTROLLER_SERVICE_H_
