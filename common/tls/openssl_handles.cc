#include "common/tls/openssl_handles.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstddef>

#include "absl/strings/str_cat.h"

namespace pyservice::tls {

int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/,
                 void* /*userdata*/) {
  return -1;
}

ClearOpenSslErrorsOnExit::~ClearOpenSslErrorsOnExit() { ERR_clear_error(); }

std::string OpenSslErrors() {
  std::string text;
  while (const unsigned long error = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(error, buffer, sizeof(buffer));
    absl::StrAppend(&text, text.empty() ? "" : "; ", buffer);
  }
  return text.empty() ? "no OpenSSL error" : text;
}

BioPtr MemoryBio(absl::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string MemoryBioText(BIO& bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(&bio, &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : "";
}

X509Ptr ParseCertificatePem(absl::string_view pem) {
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr));
}

PkeyPtr ParsePrivateKeyPem(absl::string_view pem) {
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return nullptr;
  return PkeyPtr(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
}

X509ReqPtr ParseCertificateRequestPem(absl::string_view pem) {
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return nullptr;
  return X509ReqPtr(
      PEM_read_bio_X509_REQ(bio.get(), nullptr, NoPassphrase, nullptr));
}

}  // namespace pyservice::tls
