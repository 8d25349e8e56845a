// absl::Status ↔ grpc::Status. The codes are the same numbers by design
// (both follow google.rpc.Code), so the mapping is 1:1.
#ifndef PYSERVICE_COMMON_STATUS_GRPC_STATUS_H_
#define PYSERVICE_COMMON_STATUS_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace pyservice {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

inline absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace pyservice

#endif  // PYSERVICE_COMMON_STATUS_GRPC_STATUS_H_
