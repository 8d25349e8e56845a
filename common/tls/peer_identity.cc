#include "common/tls/peer_identity.h"

#include <grpc/grpc_security_constants.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace pyservice::tls {
namespace {

std::string ToString(const grpc::string_ref& value) {
  return std::string(value.data(), value.size());
}

std::string FirstValue(const grpc::AuthContext& auth, const char* property) {
  for (const grpc::string_ref& value : auth.FindPropertyValues(property)) {
    return ToString(value);
  }
  return "";
}

// x509_subject_alternative_name lists every kind of SAN as text; a DNS name
// is the one with none of the characters URIs, emails and IPs carry.
bool LooksLikeDnsName(absl::string_view san) {
  if (san.empty()) return false;
  if (san.find_first_of(":/@") != absl::string_view::npos) return false;
  return san.find_first_not_of("0123456789.") != absl::string_view::npos;
}

}  // namespace

std::string PeerIdentity(const grpc::AuthContext& auth_context) {
  // gRPC marks the peer authenticated when its certificate gave an identity;
  // with plaintext, or TLS without a client certificate, it is not.
  if (!auth_context.IsPeerAuthenticated()) return "";
  const std::string transport =
      FirstValue(auth_context, GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
  if (transport != GRPC_SSL_TRANSPORT_SECURITY_TYPE &&
      transport != GRPC_TLS_TRANSPORT_SECURITY_TYPE) {
    return "";
  }
  // The SAN is what certificates are issued for today (CN is legacy); gRPC
  // lists DNS SANs apart as peer_dns, and all SANs as text as well.
  if (std::string dns = FirstValue(auth_context, GRPC_PEER_DNS_PROPERTY_NAME);
      !dns.empty()) {
    return dns;
  }
  for (const grpc::string_ref& value :
       auth_context.FindPropertyValues(GRPC_X509_SAN_PROPERTY_NAME)) {
    const absl::string_view san(value.data(), value.size());
    if (LooksLikeDnsName(san)) return std::string(san);
  }
  return FirstValue(auth_context, GRPC_X509_CN_PROPERTY_NAME);
}

std::string PeerIdentity(const grpc::ServerContext& context) {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  return auth == nullptr ? "" : PeerIdentity(*auth);
}

std::string PeerIdentity(const grpc::CallbackServerContext& context) {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  return auth == nullptr ? "" : PeerIdentity(*auth);
}

}  // namespace pyservice::tls
