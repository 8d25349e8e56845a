#include "controller/auth/access_registry.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/spec/validators.h"
#include "common/tls/pki.h"
#include "common/status/status_macros.h"
#include "controller/auth/app_scope.h"
#include "controller/auth/tokens.h"

namespace pyservice::controller::auth {

namespace {

constexpr absl::Duration kDefaultEnrollmentTtl = absl::Hours(1);
constexpr absl::Duration kMaxEnrollmentTtl = absl::Hours(24 * 7);

absl::Status ValidateTokenName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 &&
            (absl::ascii_islower(name[0]) || absl::ascii_isdigit(name[0]));
  for (const char c : name) {
    ok = ok && (absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '.' || c == '_' ||
                c == '-');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      name.size() > 64 ? std::string("name: longer than 64 characters")
                       : absl::StrCat("name: \"", name,
                                      "\" must be 1 to 64 characters of [a-z0-9._-], starting "
                                      "with a letter or digit"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<AccessRegistry>> AccessRegistry::Create(AccessStore& store,
                                                                       AgentCa& ca,
                                                                       const Clock& clock) {
  std::unique_ptr<AccessRegistry> registry(new AccessRegistry(store, ca, clock));
  ASSIGN_OR_RETURN(std::vector<StoredToken> tokens, store.ListTokens());
  ASSIGN_OR_RETURN(std::vector<StoredCertificate> certificates, store.ListCertificates());
  ASSIGN_OR_RETURN(std::vector<EnrolledHost> hosts, store.ListEnrolledHosts());
  absl::MutexLock lock(&registry->mu_);
  for (StoredToken& token : tokens) registry->tokens_[token.id] = std::move(token);
  for (const StoredCertificate& certificate : certificates) {
    registry->certificates_[certificate.serial] = {certificate.host, certificate.revoked};
  }
  for (EnrolledHost& host : hosts) registry->host_labels_[host.name] = std::move(host.labels);
  return registry;
}

absl::StatusOr<NewToken> AccessRegistry::CreateToken(const std::string& name, v1::Role role,
                                                     const std::vector<std::string>& apps,
                                                     absl::Duration ttl) {
  RETURN_IF_ERROR(ValidateTokenName(name));
  if (role != v1::ROLE_VIEWER && role != v1::ROLE_DEPLOYER && role != v1::ROLE_ADMIN) {
    return absl::InvalidArgumentError("role: must be admin, deployer or viewer");
  }
  if (role == v1::ROLE_ADMIN && !apps.empty()) {
    return absl::InvalidArgumentError(
        "apps: an admin token cannot be limited to apps (admins manage tokens and hosts, "
        "which belong to no app); give it the deployer role");
  }
  for (const std::string& pattern : apps) RETURN_IF_ERROR(ValidateAppPattern(pattern));
  if (ttl < absl::ZeroDuration()) return absl::InvalidArgumentError("ttl: negative");
  ASSIGN_OR_RETURN(const std::string secret, NewTokenSecret());
  StoredToken token;
  token.name = name;
  token.role = role;
  token.apps = apps;
  token.secret_hash = HashTokenSecret(secret);
  token.created_at = clock_.Now();
  if (ttl > absl::ZeroDuration()) token.expires_at = token.created_at + ttl;
  ASSIGN_OR_RETURN(StoredToken stored, store_.CreateToken(token));
  {
    absl::MutexLock lock(&mu_);
    tokens_[stored.id] = stored;
  }
  return NewToken{FormatToken(kOperatorTokenPrefix, stored.id, secret), std::move(stored)};
}

absl::StatusOr<std::vector<StoredToken>> AccessRegistry::ListTokens() const {
  return store_.ListTokens();
}

absl::Status AccessRegistry::RevokeToken(const std::string& name) {
  RETURN_IF_ERROR(store_.RevokeToken(name));
  absl::MutexLock lock(&mu_);
  for (auto& [id, token] : tokens_) {
    if (token.name == name) token.revoked = true;
  }
  return absl::OkStatus();
}

absl::StatusOr<StoredToken> AccessRegistry::CheckToken(const std::string& text) const {
  ASSIGN_OR_RETURN(const ParsedToken parsed, ParseToken(kOperatorTokenPrefix, text));
  const std::string hash = HashTokenSecret(parsed.secret);
  absl::MutexLock lock(&mu_);
  auto it = tokens_.find(parsed.id);
  // One answer for an unknown id and a wrong secret.
  if (it == tokens_.end() || !ConstantTimeEquals(it->second.secret_hash, hash)) {
    return absl::UnauthenticatedError("token is not valid (unknown or mistyped)");
  }
  const StoredToken& token = it->second;
  if (token.revoked) {
    return absl::UnauthenticatedError(absl::StrCat("token \"", token.name, "\" was revoked"));
  }
  if (token.expires_at.has_value() && clock_.Now() >= *token.expires_at) {
    return absl::UnauthenticatedError(absl::StrCat(
        "token \"", token.name, "\" expired at ",
        absl::FormatTime(absl::RFC3339_sec, *token.expires_at, absl::UTCTimeZone())));
  }
  return token;
}

absl::StatusOr<NewEnrollmentToken> AccessRegistry::CreateEnrollmentToken(
    const std::string& host, const std::map<std::string, std::string>& labels,
    absl::Duration ttl) {
  // The CA's rule: the certificate's name and the fleet's are one string.
  RETURN_IF_ERROR(tls::ValidateHostName(host));
  for (const auto& [key, value] : labels) {
    RETURN_IF_ERROR(spec::ValidateLabelKey(key));
    RETURN_IF_ERROR(spec::ValidateLabelValue(value));
  }
  if (ttl == absl::ZeroDuration()) ttl = kDefaultEnrollmentTtl;
  if (ttl < absl::ZeroDuration() || ttl > kMaxEnrollmentTtl) {
    return absl::InvalidArgumentError("ttl: must be between 1s and 7 days");
  }
  ASSIGN_OR_RETURN(const std::string secret, NewTokenSecret());
  StoredEnrollmentToken token;
  token.host = host;
  token.labels = labels;
  token.secret_hash = HashTokenSecret(secret);
  token.created_at = clock_.Now();
  token.expires_at = token.created_at + ttl;
  ASSIGN_OR_RETURN(StoredEnrollmentToken stored, store_.CreateEnrollmentToken(token));
  return NewEnrollmentToken{FormatToken(kEnrollmentTokenPrefix, stored.id, secret),
                            std::move(stored)};
}

absl::StatusOr<HostCertificate> AccessRegistry::Enroll(const std::string& token_text,
                                                       const std::string& csr_pem) {
  ASSIGN_OR_RETURN(const ParsedToken parsed, ParseToken(kEnrollmentTokenPrefix, token_text));
  // The token names the host. The certificate is issued before the token
  // is used, so a bad request does not burn it, and recorded in the
  // transaction that uses it (EnrollHost checks the token again there:
  // two agents racing with one token get one certificate).
  absl::StatusOr<StoredEnrollmentToken> token = store_.GetEnrollmentToken(parsed.id);
  if (absl::IsNotFound(token.status())) {
    return absl::UnauthenticatedError("enrollment token is not valid");
  }
  if (!token.ok()) return token.status();
  ASSIGN_OR_RETURN(HostCertificate result, IssueFor(token->host, csr_pem));
  const StoredCertificate stored{result.certificate.serial, token->host, clock_.Now(),
                                 result.certificate.not_after, false};
  ASSIGN_OR_RETURN(const StoredEnrollmentToken used,
                   store_.EnrollHost(parsed.id, HashTokenSecret(parsed.secret), clock_.Now(),
                                     stored));
  result.labels = used.labels;
  absl::MutexLock lock(&mu_);
  certificates_[stored.serial] = {used.host, false};
  host_labels_[used.host] = used.labels;
  return result;
}

absl::StatusOr<HostCertificate> AccessRegistry::IssueFor(const std::string& host,
                                                         const std::string& csr_pem) {
  ASSIGN_OR_RETURN(IssuedAgentCertificate issued, ca_.Issue(csr_pem, host, kCertificateLifetime));
  HostCertificate result;
  result.certificate = std::move(issued);
  result.host = host;
  return result;
}

absl::StatusOr<HostCertificate> AccessRegistry::Renew(const std::string& host,
                                                      const std::string& csr_pem) {
  ASSIGN_OR_RETURN(HostCertificate result, IssueFor(host, csr_pem));
  StoredCertificate stored{result.certificate.serial, host, clock_.Now(),
                           result.certificate.not_after, false};
  RETURN_IF_ERROR(store_.AddCertificate(stored));
  absl::MutexLock lock(&mu_);
  certificates_[stored.serial] = {host, false};
  result.labels = host_labels_[host];
  return result;
}

absl::StatusOr<uint32_t> AccessRegistry::RevokeHost(const std::string& host) {
  ASSIGN_OR_RETURN(const uint32_t revoked, store_.RevokeHost(host));
  absl::MutexLock lock(&mu_);
  for (auto& [serial, state] : certificates_) {
    if (state.host == host) state.revoked = true;
  }
  return revoked;
}

absl::StatusOr<HostCertificate> AccessRegistry::CheckCertificate(
    const std::string& certificate_pem) const {
  ASSIGN_OR_RETURN(const VerifiedAgentCertificate verified, ca_.Verify(certificate_pem));
  absl::MutexLock lock(&mu_);
  auto it = certificates_.find(verified.serial);
  if (it == certificates_.end() || it->second.host != verified.host) {
    return absl::UnauthenticatedError(absl::StrCat(
        "certificate ", verified.serial, " of host \"", verified.host,
        "\" is not one this controller issued (was the store restored from a backup?): "
        "enroll the host again"));
  }
  if (it->second.revoked) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the certificate of host \"", verified.host,
        "\" was revoked (pyctl host revoke): enroll the host again with a new token"));
  }
  HostCertificate result;
  result.host = verified.host;
  result.certificate.serial = verified.serial;
  result.certificate.not_after = verified.not_after;
  auto labels = host_labels_.find(verified.host);
  if (labels != host_labels_.end()) result.labels = labels->second;
  return result;
}

}  // namespace pyservice::controller::auth
