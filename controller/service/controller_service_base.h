// The generated operator service as ControllerServiceImpl and its guard
// (auth::AuthorizedControllerService) both implement it: sync methods, but
// WatchApp on the callback API (a waiting watcher holds no thread) and
// ListHosts as raw bytes (its answer is assembled from per-host serialized
// messages, host_listing.h).
#ifndef PYSERVICE_CONTROLLER_SERVICE_CONTROLLER_SERVICE_BASE_H_
#define PYSERVICE_CONTROLLER_SERVICE_CONTROLLER_SERVICE_BASE_H_

#include "pyservice/v1/controller.grpc.pb.h"

namespace pyservice::controller {

using ControllerServiceBase = v1::ControllerService::WithRawCallbackMethod_ListHosts<
    v1::ControllerService::WithCallbackMethod_WatchApp<v1::ControllerService::Service>>;

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_SERVICE_CONTROLLER_SERVICE_BASE_H_
