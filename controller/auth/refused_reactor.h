// Streams refused before they start: a reactor that only finishes with the
// refusal. gRPC queues a Finish made before the reactor is bound, so the
// constructor may call it.
#ifndef PYSERVICE_CONTROLLER_AUTH_REFUSED_REACTOR_H_
#define PYSERVICE_CONTROLLER_AUTH_REFUSED_REACTOR_H_

#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

namespace pyservice::controller::auth {

template <typename Response>
class RefusedWriteReactor final : public grpc::ServerWriteReactor<Response> {
 public:
  explicit RefusedWriteReactor(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace pyservice::controller::auth

#endif  // PYSERVICE_CONTROLLER_AUTH_REFUSED_REACTOR_H_
