#include "agent/enroll/identity_files.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/file/file_ops.h"
#include "common/status/status_macros.h"
#include "common/tls/pem.h"
#include "spdlog/spdlog.h"

namespace pyservice::agent {

IdentityFiles::IdentityFiles(const std::string& state_dir_in)
    : state_dir(state_dir_in),
      dir(absl::StrCat(state_dir_in, "/tls")),
      key(absl::StrCat(dir, "/host.key")),
      cert(absl::StrCat(dir, "/host.crt")),
      ca(absl::StrCat(dir, "/ca.crt")),
      staged_key(absl::StrCat(key, ".new")),
      tried_token(absl::StrCat(dir, "/enrollment-token.sha256")) {}

absl::Status CreateIdentityDir(const IdentityFiles& files) {
  // The state dir's mode is StateStore's (0700) too; nothing here is for
  // anyone but the agent.
  RETURN_IF_ERROR(EnsureDirectory(files.state_dir, 0700, std::nullopt).status());
  return EnsureDirectory(files.dir, 0700, std::nullopt).status();
}

absl::Status ReplaceKeyAndCertificate(const IdentityFiles& files, absl::string_view key_pem,
                                      absl::string_view cert_pem) {
  RETURN_IF_ERROR(WriteFileAtomically(files.staged_key, key_pem, 0600, std::nullopt));
  // From here on a crash leaves a staged key that matches host.crt or the
  // old pair intact: recovery can tell which.
  RETURN_IF_ERROR(WriteFileAtomically(files.cert, cert_pem, 0644, std::nullopt));
  RETURN_IF_ERROR(WriteFileAtomically(files.key, key_pem, 0600, std::nullopt));
  return RemoveFile(files.staged_key);
}

absl::Status WriteAgentCa(const IdentityFiles& files, absl::string_view ca_pem) {
  return WriteFileAtomically(files.ca, ca_pem, 0644, std::nullopt);
}

absl::Status RecoverInterruptedReplacement(const IdentityFiles& files) {
  ASSIGN_OR_RETURN(std::optional<std::string> staged, ReadFileIfExists(files.staged_key));
  if (!staged) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<std::string> cert, ReadFileIfExists(files.cert));
  if (cert && tls::CheckKeyMatchesCertificate(*cert, files.cert, *staged, files.staged_key).ok()) {
    spdlog::info("finishing a certificate replacement that was interrupted: {} is now {}",
                 files.staged_key, files.key);
    RETURN_IF_ERROR(WriteFileAtomically(files.key, *staged, 0600, std::nullopt));
  }
  return RemoveFile(files.staged_key);
}

}  // namespace pyservice::agent
