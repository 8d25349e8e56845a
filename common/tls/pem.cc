#include "common/tls/pem.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstddef>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file/read_file.h"
#include "common/tls/openssl_handles.h"

namespace pyservice::tls {
namespace {

// Far above any certificate chain or CA bundle; a bound so a wrong path
// (a disk image, /dev/zero) fails instead of filling memory.
constexpr size_t kMaxPemBytes = size_t{4} << 20;

// Whether the last OpenSSL error is "no more PEM blocks": the normal end of
// a file, as opposed to a block that is there but corrupt.
bool LastErrorIsEndOfPem() {
  const unsigned long error = ERR_peek_last_error();
  return ERR_GET_LIB(error) == ERR_LIB_PEM &&
         ERR_GET_REASON(error) == PEM_R_NO_START_LINE;
}

absl::StatusOr<std::string> ReadPemFile(absl::string_view role,
                                        const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(role, ": no file given"));
  }
  absl::StatusOr<std::string> text = ReadFileToString(path, kMaxPemBytes);
  if (!text.ok()) {
    // ReadFileToString's message already names the path and the reason.
    return absl::Status(text.status().code(),
                        absl::StrCat(role, ": ", text.status().message()));
  }
  return text;
}

std::string TimeText(const ASN1_TIME* time) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || ASN1_TIME_print(bio.get(), time) != 1) return "?";
  return MemoryBioText(*bio);
}

void WarnIfNotCurrent(const X509& cert, const std::string& path) {
  const ASN1_TIME* not_before = X509_get0_notBefore(&cert);
  const ASN1_TIME* not_after = X509_get0_notAfter(&cert);
  if (X509_cmp_current_time(not_after) < 0) {
    spdlog::warn("TLS certificate {} expired on {}; peers will refuse it",
                 path, TimeText(not_after));
  } else if (X509_cmp_current_time(not_before) > 0) {
    spdlog::warn(
        "TLS certificate {} is not valid before {} (is the clock right?); "
        "peers will refuse it until then",
        path, TimeText(not_before));
  }
}

}  // namespace

absl::StatusOr<std::string> ReadPemCertificates(absl::string_view role,
                                                const std::string& path) {
  ClearOpenSslErrorsOnExit clear_errors;
  absl::StatusOr<std::string> text = ReadPemFile(role, path);
  if (!text.ok()) return text.status();

  BioPtr bio = MemoryBio(*text);
  if (bio == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat(role, " ", path, ": out of memory"));
  }
  int certificates = 0;
  while (X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase,
                                   nullptr)) != nullptr) {
    ++certificates;
  }
  if (certificates > 0 && LastErrorIsEndOfPem()) return text;
  if (certificates > 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        role, " ", path, ": certificate number ", certificates + 1,
        " in the file is not valid PEM"));
  }
  if (absl::StrContains(*text, "PRIVATE KEY-----")) {
    return absl::InvalidArgumentError(absl::StrCat(
        role, " ", path,
        ": holds a private key, not a certificate (certificate and key files "
        "swapped?)"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      role, " ", path,
      ": no valid PEM certificate (\"-----BEGIN CERTIFICATE-----\") in the "
      "file"));
}

absl::StatusOr<std::string> ReadPemPrivateKey(absl::string_view role,
                                              const std::string& path) {
  ClearOpenSslErrorsOnExit clear_errors;
  absl::StatusOr<std::string> text = ReadPemFile(role, path);
  if (!text.ok()) return text.status();

  if (ParsePrivateKeyPem(*text) == nullptr) {
    if (absl::StrContains(*text, "ENCRYPTED")) {
      return absl::InvalidArgumentError(absl::StrCat(
          role, " ", path,
          ": is encrypted with a passphrase; a daemon cannot type one, so "
          "store the key unencrypted and readable by its user only (0600)"));
    }
    if (absl::StrContains(*text, "BEGIN CERTIFICATE")) {
      return absl::InvalidArgumentError(absl::StrCat(
          role, " ", path,
          ": holds a certificate, not a private key (certificate and key "
          "files swapped?)"));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        role, " ", path, ": no valid PEM private key in the file"));
  }

  struct stat info;
  if (stat(path.c_str(), &info) == 0 && (info.st_mode & S_IRWXO) != 0) {
    spdlog::warn("{} {} can be read by any user (mode {:04o}); chmod o-rwx it",
                 std::string(role), path, info.st_mode & 07777);
  }
  return text;
}

absl::Status CheckKeyMatchesCertificate(const std::string& cert_pem,
                                        const std::string& cert_path,
                                        const std::string& key_pem,
                                        const std::string& key_path) {
  ClearOpenSslErrorsOnExit clear_errors;
  X509Ptr cert = ParseCertificatePem(cert_pem);
  PkeyPtr key = ParsePrivateKeyPem(key_pem);
  if (cert == nullptr || key == nullptr) {
    // Read*() checked both; only a caller passing other text gets here.
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot parse ", cert == nullptr ? cert_path : key_path));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TLS private key ", key_path, " does not belong to certificate ",
        cert_path, " (the first certificate in the file)"));
  }
  WarnIfNotCurrent(*cert, cert_path);
  return absl::OkStatus();
}

}  // namespace pyservice::tls
