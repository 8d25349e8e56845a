// CertificateAuthority (pki.h): its files, issuing and verifying.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/file/file_ops.h"
#include "common/file/private_file.h"
#include "common/status/status_macros.h"
#include "common/time/rfc3339.h"
#include "common/tls/pem.h"
#include "common/tls/pki.h"
#include "common/tls/x509_fields.h"

namespace pyservice::tls {
namespace {

constexpr absl::Duration kCaValidity = absl::Hours(24 * 3652);  // 10 years
// Hosts' clocks differ; a certificate dated "now" by the controller would be
// refused for a few minutes by a peer whose clock is behind.
constexpr absl::Duration kClockSkew = absl::Minutes(5);

bool Exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

// Load-time problems are state the operator fixes before the controller
// can start, whatever the check that found them called them.
absl::Status NeedsFixing(const absl::Status& status) {
  return absl::FailedPreconditionError(status.message());
}

absl::Status WriteCa(const std::string& dir, const std::string& cert_path,
                    const std::string& key_path, const CaMaterial& ca) {
  // mkdir's mode only narrows with the umask; an existing directory is the
  // operator's and keeps its mode.
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(absl::StrCat(
        "CA: cannot create directory ", dir, ": ", std::strerror(errno)));
  }
  // WriteFileAtomically creates its temporary file with O_EXCL and mode 0600
  // before writing a byte, fsyncs and renames it: the key is never readable
  // by anyone else, not even for a moment. Key first: a crash in between
  // leaves a key without a certificate, which LoadOrCreate refuses rather
  // than replaces.
  RETURN_IF_ERROR(WriteFileAtomically(key_path, ca.key_pem, 0600, std::nullopt));
  return WriteFileAtomically(cert_path, ca.certificate_pem, 0644, std::nullopt);
}

}  // namespace

CertificateAuthority::CertificateAuthority(X509Ptr certificate, PkeyPtr key,
                                           std::string certificate_pem,
                                           const Clock& clock)
    : certificate_(std::move(certificate)),
      key_(std::move(key)),
      certificate_pem_(std::move(certificate_pem)),
      clock_(clock) {}

absl::StatusOr<CaMaterial> CertificateAuthority::NewCaMaterial(absl::string_view name,
                                                                absl::Time now) {
  ClearOpenSslErrorsOnExit clear_errors;
  ASSIGN_OR_RETURN(std::string key_pem, GeneratePrivateKeyPem());
  PkeyPtr key = ParsePrivateKeyPem(key_pem);
  if (key == nullptr) return absl::InternalError("CA: cannot read its new key");
  CertificateFields fields;
  fields.common_name = std::string(name);
  fields.not_before = now - kClockSkew;
  fields.not_after = now + kCaValidity;
  fields.extensions = {{NID_basic_constraints, "critical,CA:TRUE"},
                       {NID_key_usage, "critical,keyCertSign,cRLSign"},
                       {NID_subject_key_identifier, "hash"}};
  ASSIGN_OR_RETURN(X509Ptr cert, SignCertificate(fields, *key, nullptr, *key));
  ASSIGN_OR_RETURN(std::string cert_pem, CertificateToPem(*cert));
  return CaMaterial{std::move(cert_pem), std::move(key_pem)};
}

absl::StatusOr<std::optional<CaMaterial>> CertificateAuthority::ReadCaDir(
    const std::string& dir) {
  ClearOpenSslErrorsOnExit clear_errors;
  const std::string cert_path = dir + "/ca.crt";
  const std::string key_path = dir + "/ca.key";
  const bool has_cert = Exists(cert_path);
  const bool has_key = Exists(key_path);
  if (!has_cert && !has_key) return std::nullopt;
  if (has_cert != has_key) {
    const std::string& present = has_cert ? cert_path : key_path;
    return absl::FailedPreconditionError(absl::StrCat(
        "CA: ", present, " exists but ", has_cert ? key_path : cert_path,
        " does not; restore it, or remove ", present,
        " to create a new CA (every agent must then enroll again)"));
  }
  // Checked before reading: a key others could read is no secret any more.
  RETURN_IF_ERROR(CheckOwnerOnly("CA private key", key_path));
  absl::StatusOr<std::string> cert_pem =
      ReadPemCertificates("CA certificate", cert_path);
  if (!cert_pem.ok()) return NeedsFixing(cert_pem.status());
  absl::StatusOr<std::string> key_pem =
      ReadPemPrivateKey("CA private key", key_path);
  if (!key_pem.ok()) return NeedsFixing(key_pem.status());
  if (absl::Status match =
          CheckKeyMatchesCertificate(*cert_pem, cert_path, *key_pem, key_path);
      !match.ok()) {
    return NeedsFixing(match);
  }
  return CaMaterial{*std::move(cert_pem), *std::move(key_pem)};
}

absl::StatusOr<std::unique_ptr<CertificateAuthority>> CertificateAuthority::FromPem(
    const CaMaterial& ca, absl::string_view origin, const Clock& clock) {
  ClearOpenSslErrorsOnExit clear_errors;
  const std::string cert_origin = absl::StrCat(origin, " (certificate)");
  const std::string key_origin = absl::StrCat(origin, " (key)");
  if (absl::Status match = CheckKeyMatchesCertificate(ca.certificate_pem, cert_origin,
                                                      ca.key_pem, key_origin);
      !match.ok()) {
    return NeedsFixing(match);
  }
  X509Ptr cert = ParseCertificatePem(ca.certificate_pem);
  PkeyPtr key = ParsePrivateKeyPem(ca.key_pem);
  return std::unique_ptr<CertificateAuthority>(new CertificateAuthority(
      std::move(cert), std::move(key), ca.certificate_pem, clock));
}

absl::StatusOr<std::unique_ptr<CertificateAuthority>>
CertificateAuthority::LoadOrCreate(const std::string& dir,
                                   absl::string_view name, const Clock& clock) {
  ASSIGN_OR_RETURN(std::optional<CaMaterial> ca, ReadCaDir(dir));
  if (!ca.has_value()) {
    ASSIGN_OR_RETURN(ca, NewCaMaterial(name, clock.Now()));
    RETURN_IF_ERROR(WriteCa(dir, dir + "/ca.crt", dir + "/ca.key", *ca));
  }
  return FromPem(*ca, dir, clock);
}

absl::StatusOr<IssuedCertificate> CertificateAuthority::Issue(
    absl::string_view csr_pem, absl::string_view host,
    absl::Duration validity) const {
  ClearOpenSslErrorsOnExit clear_errors;
  RETURN_IF_ERROR(ValidateHostName(host));
  if (validity <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "certificate validity must be positive, not ",
        absl::FormatDuration(validity)));
  }
  X509ReqPtr request = ParseCertificateRequestPem(csr_pem);
  if (request == nullptr) {
    return absl::InvalidArgumentError(
        "certificate request: not a PEM PKCS#10 request");
  }
  ASSIGN_OR_RETURN(PkeyPtr subject_key, VerifiedRequestKey(*request));
  const absl::Time now = clock_.Now();
  CertificateFields fields;
  fields.common_name = std::string(host);
  fields.not_before = now - kClockSkew;
  fields.not_after = now + validity;
  // `host` is validated above: no comma or colon can change these values.
  fields.extensions = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "clientAuth"},
      {NID_subject_alt_name,
       absl::StrCat("DNS:", host, ",URI:", kAgentUriPrefix, host)},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"}};
  ASSIGN_OR_RETURN(X509Ptr cert, SignCertificate(fields, *subject_key,
                                                 certificate_.get(), *key_));
  ASSIGN_OR_RETURN(CertificateInfo info, ReadCertificateInfo(*cert));
  ASSIGN_OR_RETURN(std::string pem, CertificateToPem(*cert));
  return IssuedCertificate{std::move(pem), std::move(info.serial),
                           info.not_before, info.not_after};
}

absl::StatusOr<AgentCertificate> CertificateAuthority::VerifyAgentCertificate(
    absl::string_view cert_pem) const {
  ClearOpenSslErrorsOnExit clear_errors;
  X509Ptr cert = ParseCertificatePem(cert_pem);
  if (cert == nullptr) {
    return absl::UnauthenticatedError("certificate: not a PEM certificate");
  }
  // The name match is cheap and gives the clearer case; the signature is
  // what proves it (another CA may well have the same name).
  if (X509_NAME_cmp(X509_get_issuer_name(cert.get()),
                    X509_get_subject_name(certificate_.get())) != 0 ||
      X509_verify(cert.get(), key_.get()) != 1) {
    return absl::UnauthenticatedError(
        "certificate not issued by this controller's CA");
  }
  ASSIGN_OR_RETURN(CertificateInfo info, ReadCertificateInfo(*cert));
  const absl::Time now = clock_.Now();
  if (now < info.not_before) {
    return absl::UnauthenticatedError(absl::StrCat(
        "certificate not valid before ", FormatRfc3339(info.not_before)));
  }
  if (now > info.not_after) {
    return absl::UnauthenticatedError(
        absl::StrCat("certificate expired at ", FormatRfc3339(info.not_after)));
  }
  std::optional<std::string> host = AgentHostOf(*cert);
  if (!host) {
    return absl::UnauthenticatedError(absl::StrCat(
        "not an agent certificate (no ", kAgentUriPrefix, "HOST name)"));
  }
  return AgentCertificate{*std::move(host), std::move(info.serial),
                          info.not_after};
}

}  // namespace pyservice::tls
