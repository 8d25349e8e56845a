#include "controller/fleet/agent_service.h"

#include <utility>

#include "absl/time/time.h"
#include "common/status/grpc_status.h"
#include "common/text/log_text.h"
#include "controller/auth/refused_reactor.h"
#include "spdlog/spdlog.h"

namespace pyservice::controller::fleet {

namespace {

// A certificate signing request is a few hundred bytes; anything near this
// is not one.
constexpr size_t kMaxCsrBytes = 16 * 1024;

void FillResponse(const auth::HostCertificate& issued, const std::string& ca_pem,
                  v1::EnrollResponse* response) {
  response->set_certificate_pem(issued.certificate.pem);
  response->set_ca_pem(ca_pem);
  response->set_host(issued.host);
  response->mutable_labels()->insert(issued.labels.begin(), issued.labels.end());
  response->set_not_after(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", issued.certificate.not_after,
                                           absl::UTCTimeZone()));
}

grpc::Status CheckCsrSize(const std::string& csr_pem) {
  if (csr_pem.empty() || csr_pem.size() > kMaxCsrBytes) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "csr_pem: must be a PEM certificate request of at most 16 KiB");
  }
  return grpc::Status::OK;
}

}  // namespace

grpc::ServerBidiReactor<v1::AgentMessage, v1::ControllerMessage>* AgentServiceImpl::Connect(
    grpc::CallbackServerContext* context) {
  absl::StatusOr<auth::Principal> caller = gate_(*context, "Connect");
  if (!caller.ok()) {
    return new auth::RefusedBidiReactor<v1::AgentMessage, v1::ControllerMessage>(
        ToGrpcStatus(caller.status()));
  }
  // Deleted by itself in OnDone.
  return new AgentSession(context, fleet_, *std::move(caller), next_session_id_++,
                          fleet_.session_options());
}

grpc::Status AgentServiceImpl::Enroll(grpc::ServerContext* context,
                                      const v1::EnrollRequest* request,
                                      v1::EnrollResponse* response) {
  if (absl::StatusOr<auth::Principal> caller = gate_(*context, "Enroll"); !caller.ok()) {
    return ToGrpcStatus(caller.status());
  }
  if (access_ == nullptr) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "this controller does not enroll hosts");
  }
  if (grpc::Status size = CheckCsrSize(request->csr_pem()); !size.ok()) return size;
  absl::StatusOr<auth::HostCertificate> issued = access_->Enroll(request->token(),
                                                                 request->csr_pem());
  if (!issued.ok()) {
    spdlog::warn("enrollment from {} refused: {}", text::ForLog(context->peer()),
                 text::ForLog(issued.status().message(), 400));
    return ToGrpcStatus(issued.status());
  }
  spdlog::info("host {} enrolled (certificate {})", issued->host, issued->certificate.serial);
  FillResponse(*issued, access_->ca_certificate_pem(), response);
  return grpc::Status::OK;
}

grpc::Status AgentServiceImpl::RenewCertificate(grpc::ServerContext* context,
                                                const v1::RenewCertificateRequest* request,
                                                v1::EnrollResponse* response) {
  absl::StatusOr<auth::Principal> caller = gate_(*context, "RenewCertificate");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (access_ == nullptr) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "this controller does not issue certificates");
  }
  if (grpc::Status size = CheckCsrSize(request->csr_pem()); !size.ok()) return size;
  absl::StatusOr<auth::HostCertificate> issued = access_->Renew(caller->host, request->csr_pem());
  if (!issued.ok()) return ToGrpcStatus(issued.status());
  spdlog::info("host {} renewed its certificate (now {})", issued->host,
               issued->certificate.serial);
  FillResponse(*issued, access_->ca_certificate_pem(), response);
  return grpc::Status::OK;
}

}  // namespace pyservice::controller::fleet
