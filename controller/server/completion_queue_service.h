// A service served on gRPC's async API: it brings completion queues of its
// own and the threads that drive them (the agents' streams,
// controller/fleet/agent_service.h). ControllerServer adds the queues to
// its builder, starts the service once the server runs, and stops it after
// the server has shut down.
#ifndef PYSERVICE_CONTROLLER_SERVER_COMPLETION_QUEUE_SERVICE_H_
#define PYSERVICE_CONTROLLER_SERVER_COMPLETION_QUEUE_SERVICE_H_

#include <grpcpp/impl/service_type.h>
#include <grpcpp/server_builder.h>

namespace pyservice::controller {

class CompletionQueueService {
 public:
  virtual ~CompletionQueueService() = default;
  // What to register with the builder.
  virtual grpc::Service* service() = 0;
  // Before the server is built: the queues its calls complete on.
  virtual void AddCompletionQueues(grpc::ServerBuilder& builder) = 0;
  // Once the server runs: waits for calls and starts serving them.
  virtual void Start() = 0;
  // After the server's Shutdown returned (every call cancelled), or when
  // the server never started: waits until the service's calls are gone,
  // then shuts the queues down and drains them. Later calls do nothing.
  virtual void Stop() = 0;
};

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_SERVER_COMPLETION_QUEUE_SERVICE_H_
