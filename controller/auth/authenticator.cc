#include "controller/auth/authenticator.h"

#include <grpcpp/security/auth_context.h>

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace pyservice::controller::auth {

namespace {

// gRPC's name for the peer certificate in the auth context.
constexpr char kPeerCertificateProperty[] = "x509_pem_cert";
constexpr char kAuthorizationHeader[] = "authorization";

// The bearer token of the call; "" when it has none. Error for a header
// that is there but not a bearer token.
absl::StatusOr<std::string> BearerToken(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kAuthorizationHeader);
  if (it == metadata.end()) return std::string();
  absl::string_view value(it->second.data(), it->second.size());
  if (!absl::ConsumePrefix(&value, "Bearer ")) {
    return absl::UnauthenticatedError("authorization header is not \"Bearer TOKEN\"");
  }
  return std::string(absl::StripAsciiWhitespace(value));
}

std::string PeerCertificate(const grpc::ServerContextBase& context) {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return "";
  for (const grpc::string_ref& value : auth->FindPropertyValues(kPeerCertificateProperty)) {
    return std::string(value.data(), value.size());
  }
  return "";
}

}  // namespace

absl::StatusOr<Principal> Authenticator::Authenticate(
    const grpc::ServerContextBase& context) const {
  Principal principal;
  ASSIGN_OR_RETURN(const std::string token, BearerToken(context));
  if (!token.empty()) {
    ASSIGN_OR_RETURN(const StoredToken stored, registry_.CheckToken(token));
    principal.kind = Principal::Kind::kOperator;
    principal.name = absl::StrCat("token:", stored.name);
    principal.credential = absl::StrCat("bearer token ", stored.id);
    principal.role = static_cast<v1::Role>(stored.role);
    principal.apps = stored.apps;
    return principal;
  }
  if (const std::string certificate = PeerCertificate(context); !certificate.empty()) {
    ASSIGN_OR_RETURN(const HostCertificate host, registry_.CheckCertificate(certificate));
    principal.kind = Principal::Kind::kAgent;
    principal.name = absl::StrCat("host:", host.host);
    principal.credential = absl::StrCat("agent certificate ", host.certificate.serial);
    principal.host = host.host;
    principal.labels = host.labels;
    principal.labels_bound = true;
    return principal;
  }
  if (const std::optional<LocalPeer> peer = local_peers_.Find(context.peer()); peer.has_value()) {
    if (peer->uid == 0 || peer->uid == controller_uid_) {
      principal.kind = Principal::Kind::kOperator;
      principal.name = absl::StrCat("unix-uid:", peer->uid);
      principal.credential = absl::StrCat("admin socket peer uid ", peer->uid, " pid ", peer->pid);
      principal.role = v1::ROLE_ADMIN;
      return principal;
    }
    // Other local users (members of the socket's group) bring a token.
  }
  principal.name = "anonymous";
  principal.credential = "none";
  return principal;
}

}  // namespace pyservice::controller::auth
