// The certificate calls of AgentService for the enrollment tests, served
// over TLS on loopback with the test PKI's server certificate: Enroll trades
// the tokens the test adds for certificates from a real CertificateAuthority
// (each token once), RenewCertificate renews the agent certificate the
// caller connected with, as the controller's handlers are meant to.
#ifndef PYSERVICE_TESTS_AGENT_ENROLL_FAKE_ENROLLMENT_CONTROLLER_H_
#define PYSERVICE_TESTS_AGENT_ENROLL_FAKE_ENROLLMENT_CONTROLLER_H_

#include <grpc/grpc_security_constants.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status/grpc_status.h"
#include "common/time/rfc3339.h"
#include "common/tls/credentials.h"
#include "common/tls/pki.h"
#include "grpcpp/grpcpp.h"
#include "pyservice/v1/agent.grpc.pb.h"

namespace pyservice::testing {

class FakeEnrollmentController final : public v1::AgentService::Service {
 public:
  // `ca` (whose certificate is `ca_file`) issues, for `validity`.
  FakeEnrollmentController(const tls::CertificateAuthority& ca, absl::Duration validity)
      : ca_(ca), validity_(validity) {}

  // Serves on 127.0.0.1 with `server_cert`/`server_key`, asking for (not
  // requiring: Enroll comes without one) client certificates from `ca_file`.
  absl::Status Start(const std::string& server_cert, const std::string& server_key,
                     const std::string& ca_file) {
    tls::TlsServerOptions options;
    options.cert_file = server_cert;
    options.key_file = server_key;
    options.client_ca_file = ca_file;
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        tls::MakeServerCredentials(options);
    if (!credentials.ok()) return credentials.status();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", *credentials, &port);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port == 0) return absl::InternalError("cannot listen");
    target_ = absl::StrCat("127.0.0.1:", port);
    return absl::OkStatus();
  }
  ~FakeEnrollmentController() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  const std::string& target() const { return target_; }

  void AddToken(const std::string& token, const std::string& host) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    tokens_[token] = host;
  }
  // Answer every RenewCertificate with `status` (OK: renew again).
  void SetRenewalStatus(grpc::Status status) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    renewal_status_ = std::move(status);
  }

  // Answer every call with `status` from now on, as a follower does
  // (UNAVAILABLE "not the leader: ..."); OK: serve again.
  void SetEveryAnswer(grpc::Status status) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    every_answer_ = std::move(status);
  }

  // Enroll calls, answered or refused.
  int enroll_calls() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return enroll_calls_;
  }
  // RenewCertificate calls, answered or refused.
  int renewal_calls() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return renewal_calls_;
  }
  int renewals() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return renewals_;
  }
  std::string last_token() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return last_token_;
  }
  // The serial of the certificate the last renewal was asked with.
  std::string last_renewal_caller() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return last_renewal_caller_;
  }

  grpc::Status Enroll(grpc::ServerContext* /*context*/, const v1::EnrollRequest* request,
                      v1::EnrollResponse* response) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    ++enroll_calls_;
    if (!every_answer_.ok()) return every_answer_;
    last_token_ = request->token();
    auto token = tokens_.find(request->token());
    if (token == tokens_.end()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown enrollment token");
    }
    if (token->second.empty()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "enrollment token already used");
    }
    const std::string host = std::move(token->second);
    token->second.clear();
    return Answer(request->csr_pem(), host, response);
  }

  grpc::Status RenewCertificate(grpc::ServerContext* context,
                                const v1::RenewCertificateRequest* request,
                                v1::EnrollResponse* response) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    ++renewal_calls_;
    if (!every_answer_.ok()) return every_answer_;
    if (!renewal_status_.ok()) return renewal_status_;
    std::string caller_pem;
    for (const grpc::string_ref& pem :
         context->auth_context()->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME)) {
      caller_pem.assign(pem.data(), pem.size());
    }
    absl::StatusOr<tls::AgentCertificate> caller = ca_.VerifyAgentCertificate(caller_pem);
    if (!caller.ok()) return ToGrpcStatus(caller.status());
    ++renewals_;
    last_renewal_caller_ = caller->serial;
    return Answer(request->csr_pem(), caller->host, response);
  }

 private:
  grpc::Status Answer(const std::string& csr_pem, const std::string& host,
                      v1::EnrollResponse* response) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::StatusOr<tls::IssuedCertificate> issued = ca_.Issue(csr_pem, host, validity_);
    if (!issued.ok()) return ToGrpcStatus(issued.status());
    response->set_certificate_pem(issued->certificate_pem);
    response->set_ca_pem(ca_.certificate_pem());
    response->set_host(host);
    response->set_not_after(FormatRfc3339(issued->not_after));
    return grpc::Status::OK;
  }

  const tls::CertificateAuthority& ca_;
  const absl::Duration validity_;
  std::unique_ptr<grpc::Server> server_;
  std::string target_;

  mutable absl::Mutex mu_;
  // Token → host; the host is cleared once the token is used.
  std::map<std::string, std::string> tokens_ ABSL_GUARDED_BY(mu_);
  grpc::Status renewal_status_ ABSL_GUARDED_BY(mu_);
  grpc::Status every_answer_ ABSL_GUARDED_BY(mu_);
  int renewal_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int enroll_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int renewals_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_token_ ABSL_GUARDED_BY(mu_);
  std::string last_renewal_caller_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_AGENT_ENROLL_FAKE_ENROLLMENT_CONTROLLER_H_
