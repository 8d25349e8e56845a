#include "controller/fleet/agent_service.h"

#include <utility>

#include "common/status/grpc_status.h"
#include "common/text/log_text.h"
#include "common/time/rfc3339.h"
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
  response->set_not_after(FormatRfc3339(issued.certificate.not_after));
}

grpc::Status CheckCsrSize(const std::string& csr_pem) {
  if (csr_pem.empty() || csr_pem.size() > kMaxCsrBytes) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "csr_pem: must be a PEM certificate request of at most 16 KiB");
  }
  return grpc::Status::OK;
}

// Runs the reaction of every operation completed on `queue` until it is shut
// down and drained.
void Serve(grpc::ServerCompletionQueue* queue) {
  void* tag = nullptr;
  bool ok = false;
  while (queue->Next(&tag, &ok)) AgentSession::Dispatch(tag, ok);
}

}  // namespace

AgentServiceImpl::AgentServiceImpl(Fleet& fleet, AgentGate gate, auth::AccessRegistry* access,
                                   int queues)
    : access_(access), queue_count_(queues < 1 ? 1 : queues) {
  sessions_.request_call = [this](grpc::ServerContext* context, AgentStream* stream,
                                  grpc::ServerCompletionQueue* queue, void* tag) {
    RequestConnect(context, stream, queue, queue, tag);
  };
  sessions_.gate = std::move(gate);
  sessions_.listener = &fleet;
  sessions_.options = fleet.session_options();
}

AgentServiceImpl::~AgentServiceImpl() { Stop(); }

void AgentServiceImpl::AddCompletionQueues(grpc::ServerBuilder& builder) {
  for (int i = 0; i < queue_count_; ++i) queues_.push_back(builder.AddCompletionQueue());
}

void AgentServiceImpl::Start() {
  for (const std::unique_ptr<grpc::ServerCompletionQueue>& queue : queues_) {
    AgentSession::Await(sessions_, queue.get());
    threads_.emplace_back(Serve, queue.get());
  }
}

void AgentServiceImpl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    // The server's shutdown cancelled every call and failed every wait for
    // one; the queues' threads finish those sessions.
    absl::MutexLock lock(&sessions_.mu);
    sessions_.mu.Await(absl::Condition(
        +[](size_t* alive) { return *alive == 0; }, &sessions_.alive));
  }
  for (const std::unique_ptr<grpc::ServerCompletionQueue>& queue : queues_) queue->Shutdown();
  for (std::thread& thread : threads_) thread.join();
  if (threads_.empty()) {
    // Never started (nothing was asked of the queues): drained here.
    for (const std::unique_ptr<grpc::ServerCompletionQueue>& queue : queues_) Serve(queue.get());
  }
}

grpc::Status AgentServiceImpl::Enroll(grpc::ServerContext* context,
                                      const v1::EnrollRequest* request,
                                      v1::EnrollResponse* response) {
  if (absl::StatusOr<auth::Principal> caller = sessions_.gate(*context, "Enroll"); !caller.ok()) {
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
  absl::StatusOr<auth::Principal> caller = sessions_.gate(*context, "RenewCertificate");
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
