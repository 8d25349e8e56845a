// AgentService (agent.proto): every Connect call becomes an AgentSession
// reactor reporting to the fleet (callback API: no thread per agent);
// Enroll and RenewCertificate are short sync calls that issue host
// certificates. Served on the same listeners as the operator API.
//
// Every call first passes the gate (auth::Guard::Check in production),
// which says who the caller is or refuses the call.
#ifndef PYSERVICE_CONTROLLER_FLEET_AGENT_SERVICE_H_
#define PYSERVICE_CONTROLLER_FLEET_AGENT_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <functional>

#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/auth/access_registry.h"
#include "controller/auth/guard.h"
#include "controller/auth/principal.h"
#include "controller/fleet/agent_session.h"
#include "controller/fleet/fleet.h"
#include "pyservice/v1/agent.grpc.pb.h"

namespace pyservice::controller::fleet {

// Who makes agent call `method` ("Connect"), or the refusal. Called from
// gRPC reactions: must not block.
using AgentGate = std::function<absl::StatusOr<auth::Principal>(
    const grpc::ServerContextBase& context, absl::string_view method)>;

// The production gate: the guard's verdict for AgentService's `method`.
// `guard` must outlive the gate.
inline AgentGate GuardedAgentGate(const auth::Guard& guard) {
  return [&guard](const grpc::ServerContextBase& context, absl::string_view method) {
    return guard.Check(context, "pyservice.v1.AgentService", method);
  };
}

class AgentServiceImpl final
    : public v1::AgentService::WithCallbackMethod_Connect<v1::AgentService::Service> {
 public:
  // `fleet` must outlive the service and every session (i.e. the server),
  // `access` (which issues certificates; null: Enroll and
  // RenewCertificate are FAILED_PRECONDITION) the service.
  AgentServiceImpl(Fleet& fleet, AgentGate gate, auth::AccessRegistry* access = nullptr)
      : fleet_(fleet), gate_(std::move(gate)), access_(access) {}

  grpc::ServerBidiReactor<v1::AgentMessage, v1::ControllerMessage>* Connect(
      grpc::CallbackServerContext* context) override;
  grpc::Status Enroll(grpc::ServerContext* context, const v1::EnrollRequest* request,
                      v1::EnrollResponse* response) override;
  grpc::Status RenewCertificate(grpc::ServerContext* context,
                                const v1::RenewCertificateRequest* request,
                                v1::EnrollResponse* response) override;

 private:
  Fleet& fleet_;
  const AgentGate gate_;
  auth::AccessRegistry* const access_;
  std::atomic<uint64_t> next_session_id_{1};
};

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_AGENT_SERVICE_H_
