#include "agent/enroll/agent_identity.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/enroll/enrollment_token.h"
#include "common/file/file_ops.h"
#include "common/file/private_file.h"
#include "common/status/status_macros.h"
#include "common/text/sha256.h"
#include "common/time/rfc3339.h"
#include "common/tls/credentials.h"
#include "common/tls/pem.h"
#include "spdlog/spdlog.h"

namespace pyservice::agent {
namespace {

constexpr char kHowToEnroll[] =
    ": create a token with `pyctl host enroll-token NAME --label K=V` and "
    "give it with --enrollment-token-file";

// The certificate in STATE_DIR/tls once its key checks out; nullopt when
// the host has none (never enrolled).
absl::StatusOr<std::optional<tls::CertificateInfo>> LoadCertificate(
    const IdentityFiles& files) {
  RETURN_IF_ERROR(RecoverInterruptedReplacement(files));
  ASSIGN_OR_RETURN(std::optional<std::string> cert_pem, ReadFileIfExists(files.cert));
  if (!cert_pem) return std::optional<tls::CertificateInfo>();
  // The agent wrote the key 0600; a wider mode means someone changed it.
  RETURN_IF_ERROR(CheckOwnerOnly("host private key", files.key));
  ASSIGN_OR_RETURN(*cert_pem, tls::ReadPemCertificates("host certificate", files.cert));
  ASSIGN_OR_RETURN(const std::string key_pem,
                   tls::ReadPemPrivateKey("host private key", files.key));
  RETURN_IF_ERROR(tls::CheckKeyMatchesCertificate(*cert_pem, files.cert, key_pem, files.key));
  ASSIGN_OR_RETURN(tls::CertificateInfo info, tls::ParseCertificate(*cert_pem));
  return std::optional<tls::CertificateInfo>(std::move(info));
}

// Client certificate credentials from the files, read back as written.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MutualTls(
    const IdentityOptions& options, const IdentityFiles& files) {
  tls::TlsClientOptions tls;
  tls.ca_file = options.tls_ca;
  tls.cert_file = files.cert;
  tls.key_file = files.key;
  return tls::MakeChannelCredentials(tls);
}

// What the controller answered, when it certifies `key_pem` for a usable
// host name.
absl::StatusOr<tls::CertificateInfo> CheckAnswer(const v1::EnrollResponse& response,
                                                 const std::string& key_pem) {
  const auto unusable = [](const absl::Status& why) {
    return absl::InternalError(
        absl::StrCat("the controller answered with an unusable certificate: ", why.message()));
  };
  absl::StatusOr<tls::CertificateInfo> info = tls::ParseCertificate(response.certificate_pem());
  if (!info.ok()) return unusable(info.status());
  for (const absl::Status& check :
       {tls::CheckKeyMatchesCertificate(response.certificate_pem(), "(the new certificate)",
                                        key_pem, "(the new key)"),
        tls::ValidateHostName(info->common_name),
        response.ca_pem().empty() ? absl::OkStatus()
                                  : tls::ParseCertificate(response.ca_pem()).status()}) {
    if (!check.ok()) return unusable(check);
  }
  return info;
}

// A new key and a request for it.
absl::StatusOr<std::pair<std::string, std::string>> NewKeyAndRequest(const std::string& host) {
  ASSIGN_OR_RETURN(std::string key_pem, tls::GeneratePrivateKeyPem());
  ASSIGN_OR_RETURN(std::string csr_pem, tls::MakeCertificateRequestPem(key_pem, host));
  return std::make_pair(std::move(key_pem), std::move(csr_pem));
}

// Writes what Enroll or RenewCertificate answered for `key_pem`.
absl::Status Store(const IdentityFiles& files, const v1::EnrollResponse& response,
                   const std::string& key_pem) {
  RETURN_IF_ERROR(CreateIdentityDir(files));
  if (!response.ca_pem().empty()) RETURN_IF_ERROR(WriteAgentCa(files, response.ca_pem()));
  return ReplaceKeyAndCertificate(files, key_pem, response.certificate_pem());
}

// The token in the token file when the controller has not answered for it
// yet (files.tried_token); nullopt when there is none, or it was tried.
std::optional<std::string> UntriedToken(const IdentityOptions& options,
                                        const IdentityFiles& files) {
  if (options.enrollment_token_file.empty()) return std::nullopt;
  absl::StatusOr<std::string> token = ReadEnrollmentToken(options.enrollment_token_file);
  if (!token.ok()) return std::nullopt;
  absl::StatusOr<std::optional<std::string>> tried = ReadFileIfExists(files.tried_token);
  if (tried.ok() && *tried && **tried == text::Sha256Hex(*token)) return std::nullopt;
  return *std::move(token);
}

// Whether the controller answered (an enrollment or a refusal), as opposed
// to being away: only then is the token spent for us.
bool ControllerAnswered(const absl::Status& status) {
  return status.ok() || (!absl::IsUnavailable(status) && !absl::IsDeadlineExceeded(status));
}

// Trades the token for a certificate for a new key, and writes both; when
// `required_host` is given, only a certificate for that name.
absl::StatusOr<tls::CertificateInfo> Enroll(
    const IdentityOptions& options, const IdentityFiles& files,
    std::optional<std::string> required_host = std::nullopt) {
  ASSIGN_OR_RETURN(const std::string token, ReadEnrollmentToken(options.enrollment_token_file));
  ASSIGN_OR_RETURN(auto key_and_request, NewKeyAndRequest(options.requested_host));
  tls::TlsClientOptions tls;
  tls.ca_file = options.tls_ca;  // and no client certificate: the host has none yet
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials,
                   tls::MakeChannelCredentials(tls));
  const absl::StatusOr<v1::EnrollResponse> response =
      CallEnroll(options.controller, std::move(credentials), token, key_and_request.second);
  if (ControllerAnswered(response.status())) {
    RETURN_IF_ERROR(CreateIdentityDir(files));
    RETURN_IF_ERROR(WriteFileAtomically(files.tried_token, text::Sha256Hex(token), 0600,
                                        std::nullopt));
  }
  RETURN_IF_ERROR(response.status());
  ASSIGN_OR_RETURN(tls::CertificateInfo enrolled, CheckAnswer(*response, key_and_request.first));
  if (required_host && enrolled.common_name != *required_host) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the enrollment token is for host ", enrolled.common_name, " but this agent runs as ",
        *required_host, ": restart the agent to take the new name"));
  }
  RETURN_IF_ERROR(Store(files, *response, key_and_request.first));
  spdlog::info("enrolled with the controller ({}) as {}: certificate {} valid until {}",
               absl::StrJoin(options.controller.addresses, ","), enrolled.common_name,
               enrolled.serial,
               FormatRfc3339(enrolled.not_after));
  return enrolled;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AgentIdentity>> AgentIdentity::EnsureEnrolled(
    IdentityOptions options, const Clock& clock) {
  if (options.tls_ca.empty()) {
    return absl::InvalidArgumentError(
        "enrollment needs tls_ca (the CA of the controller's certificate): the token must "
        "only ever reach the real controller");
  }
  const IdentityFiles files(options.state_dir);
  ASSIGN_OR_RETURN(std::optional<tls::CertificateInfo> current, LoadCertificate(files));
  if (!current || clock.Now() >= current->not_after) {
    if (options.enrollment_token_file.empty()) {
      return absl::FailedPreconditionError(
          current ? absl::StrCat("the host certificate ", files.cert, " expired at ",
                                 FormatRfc3339(current->not_after),
                                 " and there is no enrollment_token_file", kHowToEnroll)
                  : absl::StrCat("no host certificate in ", files.dir,
                                 " and no enrollment_token_file", kHowToEnroll));
    }
    if (current) {
      spdlog::warn("the host certificate {} expired at {}: enrolling again", files.cert,
                   FormatRfc3339(current->not_after));
    }
    ASSIGN_OR_RETURN(current, Enroll(options, files));
  }
  if (UntriedToken(options, files)) {
    // A new token enrolls the host again before the first connection (which
    // a revoked certificate would lose); at start the name may change too.
    spdlog::info("the enrollment token in {} is new: enrolling again",
                 options.enrollment_token_file);
    absl::StatusOr<tls::CertificateInfo> enrolled = Enroll(options, files);
    if (enrolled.ok()) {
      current = *std::move(enrolled);
    } else {
      spdlog::warn("enrolling again with the new token failed: {}; keeping the current "
                   "certificate", enrolled.status().ToString());
    }
  }
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials,
                   MutualTls(options, files));
  std::string host = current->common_name;
  return std::unique_ptr<AgentIdentity>(new AgentIdentity(
      std::move(options), clock, std::move(host), *std::move(current), std::move(credentials)));
}

AgentIdentity::AgentIdentity(IdentityOptions options, const Clock& clock, std::string host,
                             tls::CertificateInfo certificate,
                             std::shared_ptr<grpc::ChannelCredentials> credentials)
    : options_(std::move(options)),
      files_(options_.state_dir),
      clock_(clock),
      host_(std::move(host)),
      certificate_(std::move(certificate)),
      credentials_(std::move(credentials)) {}

std::shared_ptr<grpc::ChannelCredentials> AgentIdentity::Credentials() const {
  absl::MutexLock lock(&mu_);
  return credentials_;
}

tls::CertificateInfo AgentIdentity::Certificate() const {
  absl::MutexLock lock(&mu_);
  return certificate_;
}

bool AgentIdentity::RenewalDue() const {
  const tls::CertificateInfo certificate = Certificate();
  const absl::Duration lifetime = certificate.not_after - certificate.not_before;
  return clock_.Now() >= certificate.not_after - lifetime / 3;
}

absl::Status AgentIdentity::Renew() {
  ASSIGN_OR_RETURN(auto key_and_request, NewKeyAndRequest(host_));
  ASSIGN_OR_RETURN(const v1::EnrollResponse response,
                   CallRenewCertificate(options_.controller, Credentials(),
                                        key_and_request.second));
  ASSIGN_OR_RETURN(tls::CertificateInfo renewed, CheckAnswer(response, key_and_request.first));
  if (renewed.common_name != host_) {
    return absl::InternalError(absl::StrCat("the controller renewed the certificate for ",
                                            renewed.common_name, ", not for this host (",
                                            host_, ")"));
  }
  RETURN_IF_ERROR(Store(files_, response, key_and_request.first));
  spdlog::info("renewed the host certificate: {} valid until {}", renewed.serial,
               FormatRfc3339(renewed.not_after));
  return Use(std::move(renewed));
}

bool AgentIdentity::NewEnrollmentTokenWaiting() const {
  return UntriedToken(options_, files_).has_value();
}

absl::Status AgentIdentity::Reenroll() {
  spdlog::info("the enrollment token in {} is new: enrolling again",
               options_.enrollment_token_file);
  ASSIGN_OR_RETURN(tls::CertificateInfo enrolled, Enroll(options_, files_, host_));
  return Use(std::move(enrolled));
}

absl::Status AgentIdentity::Use(tls::CertificateInfo certificate) {
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials,
                   MutualTls(options_, files_));
  absl::MutexLock lock(&mu_);
  certificate_ = std::move(certificate);
  credentials_ = std::move(credentials);
  return absl::OkStatus();
}

}  // namespace pyservice::agent
