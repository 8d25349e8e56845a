// Reading the PEM files TLS is configured with, checked up front so a wrong
// path or a mixed-up file fails at startup with a message naming the file,
// rather than as an opaque handshake failure on every connection later.
//
// Messages name the file's role ("TLS server certificate") and its path,
// never its content: key material must not reach logs.
#ifndef PYSERVICE_COMMON_TLS_PEM_H_
#define PYSERVICE_COMMON_TLS_PEM_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pyservice::tls {

// The text of a file holding one or more PEM certificates (a chain, or a CA
// bundle). `role` names the file in messages. NOT_FOUND / PERMISSION_DENIED
// when it cannot be read, INVALID_ARGUMENT when it holds no certificate or a
// corrupt one, or a private key instead (swapped files).
absl::StatusOr<std::string> ReadPemCertificates(absl::string_view role,
                                                const std::string& path);

// The text of a file holding one unencrypted PEM private key. Errors as
// above; INVALID_ARGUMENT also for a passphrase-protected key (nothing could
// type the passphrase). Logs a warning when other users may read the file.
absl::StatusOr<std::string> ReadPemPrivateKey(absl::string_view role,
                                              const std::string& path);

// INVALID_ARGUMENT naming both files unless `key_pem` is the private key of
// the first certificate in `cert_pem`. Logs a warning when that certificate
// is expired or not yet valid (a clock problem must not stop a daemon from
// starting; peers will refuse it with their own message).
absl::Status CheckKeyMatchesCertificate(const std::string& cert_pem,
                                        const std::string& cert_path,
                                        const std::string& key_pem,
                                        const std::string& key_path);

}  // namespace pyservice::tls

#endif  // PYSERVICE_COMMON_TLS_PEM_H_
