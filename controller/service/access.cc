// The token and host RPCs of ControllerServiceImpl: thin translations to
// the AccessRegistry, which validates and stores.
#include <string>
#include <vector>

#include "common/status/grpc_status.h"
#include "common/time/rfc3339.h"
#include "controller/service/apply.h"
#include "controller/service/controller_service.h"
#include "spdlog/spdlog.h"

namespace pyservice::controller {

namespace {

grpc::Status NoAccessControl() {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                      "this controller was started without access control");
}

v1::TokenInfo ToTokenInfo(const StoredToken& token) {
  v1::TokenInfo info;
  info.set_id(token.id);
  info.set_name(token.name);
  info.set_role(static_cast<v1::Role>(token.role));
  for (const std::string& app : token.apps) info.add_apps(app);
  info.set_created_at(FormatRfc3339(token.created_at));
  if (token.expires_at.has_value()) info.set_expires_at(FormatRfc3339(*token.expires_at));
  info.set_revoked(token.revoked);
  return info;
}

}  // namespace

grpc::Status ControllerServiceImpl::CreateToken(grpc::ServerContext*,
                                                const v1::CreateTokenRequest* request,
                                                v1::CreateTokenResponse* response) {
  if (access_ == nullptr) return NoAccessControl();
  absl::StatusOr<auth::NewToken> token = access_->CreateToken(
      request->name(), request->role(),
      std::vector<std::string>(request->apps().begin(), request->apps().end()),
      absl::Seconds(request->ttl_seconds()));
  if (!token.ok()) return ToGrpcStatus(token.status());
  spdlog::info("created {} token \"{}\" (id {})", auth::RoleName(request->role()),
               token->stored.name, token->stored.id);
  response->set_token(token->text);
  *response->mutable_info() = ToTokenInfo(token->stored);
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::ListTokens(grpc::ServerContext*, const v1::ListTokensRequest*,
                                               v1::ListTokensResponse* response) {
  if (access_ == nullptr) return NoAccessControl();
  absl::StatusOr<std::vector<StoredToken>> tokens = access_->ListTokens();
  if (!tokens.ok()) return ToGrpcStatus(tokens.status());
  for (const StoredToken& token : *tokens) *response->add_tokens() = ToTokenInfo(token);
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::RevokeToken(grpc::ServerContext*,
                                                const v1::RevokeTokenRequest* request,
                                                v1::RevokeTokenResponse*) {
  if (access_ == nullptr) return NoAccessControl();
  if (absl::Status revoked = access_->RevokeToken(request->name()); !revoked.ok()) {
    return ToGrpcStatus(revoked);
  }
  spdlog::info("revoked token \"{}\"", request->name());
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::CreateEnrollmentToken(
    grpc::ServerContext*, const v1::CreateEnrollmentTokenRequest* request,
    v1::CreateEnrollmentTokenResponse* response) {
  if (access_ == nullptr) return NoAccessControl();
  absl::StatusOr<auth::NewEnrollmentToken> token = access_->CreateEnrollmentToken(
      request->host(), {request->labels().begin(), request->labels().end()},
      absl::Seconds(request->ttl_seconds()));
  if (!token.ok()) return ToGrpcStatus(token.status());
  spdlog::info("created an enrollment token for host {} (id {}, expires {})",
               token->stored.host, token->stored.id, FormatRfc3339(token->stored.expires_at));
  response->set_token(token->text);
  response->set_expires_at(FormatRfc3339(token->stored.expires_at));
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::RevokeHost(grpc::ServerContext*,
                                               const v1::RevokeHostRequest* request,
                                               v1::RevokeHostResponse* response) {
  if (access_ == nullptr) return NoAccessControl();
  absl::StatusOr<uint32_t> revoked = access_->RevokeHost(request->name());
  if (!revoked.ok()) return ToGrpcStatus(revoked.status());
  spdlog::info("revoked {} certificate(s) of host {}", *revoked, request->name());
  // The live stream was authenticated with a certificate that is revoked
  // now: end it, so revocation takes effect at once, not at the next
  // reconnect.
  fleet_.DisconnectHost(request->name(),
                        grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                     "this host's certificate was revoked"));
  response->set_certificates(*revoked);
  return grpc::Status::OK;
}

}  // namespace pyservice::controller
