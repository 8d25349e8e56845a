// AgentService (agent.proto): every Connect call becomes an AgentSession
// reporting to the fleet, served on gRPC's async API on completion queues
// of this service's own, one thread each (no thread per agent; sessions are
// spread over the queues so no queue holds every agent's pending read, see
// agent_session.h); Enroll and RenewCertificate are short sync calls that
// issue host certificates. Served on the same listeners as the operator
// API: pass the service as a ControllerServerOptions::queue_services entry.
//
// Every call first passes the gate (auth::Guard::Check in production),
// which says who the caller is or refuses the call.
#ifndef PYSERVICE_CONTROLLER_FLEET_AGENT_SERVICE_H_
#define PYSERVICE_CONTROLLER_FLEET_AGENT_SERVICE_H_

#include <memory>
#include <thread>
#include <vector>

#include <grpcpp/server_builder.h>
#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/auth/access_registry.h"
#include "controller/auth/guard.h"
#include "controller/auth/principal.h"
#include "controller/fleet/agent_session.h"
#include "controller/fleet/fleet.h"
#include "controller/server/completion_queue_service.h"
#include "pyservice/v1/agent.grpc.pb.h"

namespace pyservice::controller::fleet {

// The production gate: the guard's verdict for AgentService's `method`.
// `guard` must outlive the gate.
inline AgentGate GuardedAgentGate(const auth::Guard& guard) {
  return [&guard](const grpc::ServerContextBase& context, absl::string_view method) {
    return guard.Check(context, "pyservice.v1.AgentService", method);
  };
}

class AgentServiceImpl final
    : public v1::AgentService::WithAsyncMethod_Connect<v1::AgentService::Service>,
      public CompletionQueueService {
 public:
  // Agents' streams are spread over this many queues, one thread each.
  static constexpr int kDefaultQueues = 4;

  // `fleet` must outlive the service and every session (i.e. the server),
  // `access` (which issues certificates; null: Enroll and
  // RenewCertificate are FAILED_PRECONDITION) the service.
  AgentServiceImpl(Fleet& fleet, AgentGate gate, auth::AccessRegistry* access = nullptr,
                   int queues = kDefaultQueues);
  ~AgentServiceImpl() override;

  grpc::Status Enroll(grpc::ServerContext* context, const v1::EnrollRequest* request,
                      v1::EnrollResponse* response) override;
  grpc::Status RenewCertificate(grpc::ServerContext* context,
                                const v1::RenewCertificateRequest* request,
                                v1::EnrollResponse* response) override;

  // CompletionQueueService.
  grpc::Service* service() override { return this; }
  void AddCompletionQueues(grpc::ServerBuilder& builder) override;
  void Start() override;
  void Stop() override;

 private:
  auth::AccessRegistry* const access_;
  const int queue_count_;
  // The gate of every call (Enroll and RenewCertificate too).
  AgentSessionSource sessions_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_AGENT_SERVICE_H_
