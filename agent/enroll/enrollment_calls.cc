#include "agent/enroll/enrollment_calls.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "common/tls/credentials.h"
#include "grpcpp/create_channel.h"
#include "pyservice/v1/agent.grpc.pb.h"

namespace pyservice::agent {
namespace {

std::unique_ptr<v1::AgentService::Stub> Dial(
    const ControllerEndpoint& controller,
    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  tls::TlsClientOptions tls;
  tls.server_name_override = controller.tls_server_name;
  grpc::ChannelArguments arguments;
  tls::ApplyTlsChannelArguments(tls, &arguments);
  return v1::AgentService::NewStub(grpc::CreateCustomChannel(
      controller.address, std::move(credentials), arguments));
}

void SetDeadline(const ControllerEndpoint& controller,
                 grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(controller.timeout));
}

// The controller's code and message, said to be the controller's.
absl::Status Refused(absl::string_view call,
                     const ControllerEndpoint& controller,
                     const grpc::Status& status) {
  const absl::Status refused = FromGrpcStatus(status);
  return absl::Status(
      refused.code(), absl::StrCat(call, " at the controller ",
                                   controller.address, ": ",
                                   refused.message()));
}

}  // namespace

absl::StatusOr<v1::EnrollResponse> CallEnroll(
    const ControllerEndpoint& controller,
    std::shared_ptr<grpc::ChannelCredentials> credentials,
    const std::string& token, const std::string& csr_pem) {
  v1::EnrollRequest request;
  request.set_token(token);
  request.set_csr_pem(csr_pem);
  grpc::ClientContext context;
  SetDeadline(controller, context);
  v1::EnrollResponse response;
  const grpc::Status status = Dial(controller, std::move(credentials))
                                  ->Enroll(&context, request, &response);
  if (!status.ok()) return Refused("enrollment", controller, status);
  return response;
}

absl::StatusOr<v1::EnrollResponse> CallRenewCertificate(
    const ControllerEndpoint& controller,
    std::shared_ptr<grpc::ChannelCredentials> credentials,
    const std::string& csr_pem) {
  v1::RenewCertificateRequest request;
  request.set_csr_pem(csr_pem);
  grpc::ClientContext context;
  SetDeadline(controller, context);
  v1::EnrollResponse response;
  const grpc::Status status =
      Dial(controller, std::move(credentials))
          ->RenewCertificate(&context, request, &response);
  if (!status.ok()) return Refused("certificate renewal", controller, status);
  return response;
}

}  // namespace pyservice::agent
