#include "agent/enroll/enrollment_calls.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <vector>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/grpc_status.h"
#include "common/tls/credentials.h"
#include "grpcpp/create_channel.h"
#include "pyservice/v1/agent.grpc.pb.h"

namespace pyservice::agent {
namespace {

std::unique_ptr<v1::AgentService::Stub> Dial(
    const ControllerEndpoint& controller, const std::string& address,
    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  tls::TlsClientOptions tls;
  tls.server_name_override = controller.tls_server_name;
  grpc::ChannelArguments arguments;
  tls::ApplyTlsChannelArguments(tls, &arguments);
  return v1::AgentService::NewStub(grpc::CreateCustomChannel(
      address, std::move(credentials), arguments));
}

void SetDeadline(const ControllerEndpoint& controller,
                 grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(controller.timeout));
}

// The controller's code and message, said to be the controller's.
absl::Status Refused(absl::string_view call, const std::string& address,
                     const grpc::Status& status) {
  const absl::Status refused = FromGrpcStatus(status);
  return absl::Status(
      refused.code(), absl::StrCat(call, " at the controller ",
                                   address, ": ",
                                   refused.message()));
}

// The leader a follower's refusal names (follower_service.h: "not the
// leader: the leader is ADDR"); empty when it names none.
std::string NamedLeader(const grpc::Status& status) {
  constexpr absl::string_view kMarker = "the leader is ";
  const absl::string_view message = status.error_message();
  const size_t at = message.find(kMarker);
  if (at == absl::string_view::npos) return "";
  const absl::string_view rest = message.substr(at + kMarker.size());
  return std::string(rest.substr(0, rest.find_first_of(" ;,")));
}

// Runs `call` (address, response) → grpc::Status on the controller's
// addresses as the header says, until one answers.
template <typename Call>
absl::StatusOr<v1::EnrollResponse> OnTheLeader(absl::string_view what,
                                               const ControllerEndpoint& controller,
                                               Call call) {
  std::vector<std::string> order = controller.addresses;
  std::set<std::string> tried;
  std::vector<std::string> answers;
  for (size_t i = 0; i < order.size(); ++i) {
    const std::string address = order[i];
    if (!tried.insert(address).second) continue;
    v1::EnrollResponse response;
    const grpc::Status status = call(address, response);
    if (status.ok()) return response;
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
        status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return Refused(what, address, status);
    }
    answers.push_back(absl::StrCat(address, ": ", status.error_message()));
    const std::string leader = NamedLeader(status);
    const bool listed = std::find(controller.addresses.begin(), controller.addresses.end(),
                                  leader) != controller.addresses.end();
    if (listed && !tried.contains(leader)) order.insert(order.begin() + i + 1, leader);
  }
  if (answers.size() == 1) {
    return absl::UnavailableError(absl::StrCat(what, " at the controller ", answers.front()));
  }
  return absl::UnavailableError(absl::StrCat(what, ": no controller answered (",
                                             absl::StrJoin(answers, "; "), ")"));
}

}  // namespace

absl::StatusOr<v1::EnrollResponse> CallEnroll(
    const ControllerEndpoint& controller,
    std::shared_ptr<grpc::ChannelCredentials> credentials,
    const std::string& token, const std::string& csr_pem) {
  v1::EnrollRequest request;
  request.set_token(token);
  request.set_csr_pem(csr_pem);
  return OnTheLeader("enrollment", controller,
                     [&](const std::string& address, v1::EnrollResponse& response) {
                       grpc::ClientContext context;
                       SetDeadline(controller, context);
                       return Dial(controller, address, credentials)
                           ->Enroll(&context, request, &response);
                     });
}

absl::StatusOr<v1::EnrollResponse> CallRenewCertificate(
    const ControllerEndpoint& controller,
    std::shared_ptr<grpc::ChannelCredentials> credentials,
    const std::string& csr_pem) {
  v1::RenewCertificateRequest request;
  request.set_csr_pem(csr_pem);
  return OnTheLeader("certificate renewal", controller,
                     [&](const std::string& address, v1::EnrollResponse& response) {
                       grpc::ClientContext context;
                       SetDeadline(controller, context);
                       return Dial(controller, address, credentials)
                           ->RenewCertificate(&context, request, &response);
                     });
}

}  // namespace pyservice::agent
