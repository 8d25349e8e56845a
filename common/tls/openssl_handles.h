// What the OpenSSL code in common/tls/ shares: owning pointers for its
// objects, reading PEM from memory without ever prompting for a
// passphrase, and OpenSSL's per-thread error queue as text.
#ifndef PYSERVICE_COMMON_TLS_OPENSSL_HANDLES_H_
#define PYSERVICE_COMMON_TLS_OPENSSL_HANDLES_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace pyservice::tls {

template <auto Free>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* object) const {
    Free(object);
  }
};

using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<&BIO_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<&BN_free>>;
using GeneralNamesPtr =
    std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<&GENERAL_NAMES_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<&EVP_PKEY_free>>;
using X509ExtensionPtr =
    std::unique_ptr<X509_EXTENSION, OpenSslDeleter<&X509_EXTENSION_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<&X509_NAME_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<&X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslDeleter<&X509_REQ_free>>;

// OpenSSL keeps a per-thread error queue that gRPC's TLS code reads too:
// whatever our code leaves there would surface later as gRPC's error. Every
// entry point into OpenSSL in common/tls/ holds one of these.
class ClearOpenSslErrorsOnExit {
 public:
  ClearOpenSslErrorsOnExit() = default;
  ClearOpenSslErrorsOnExit(const ClearOpenSslErrorsOnExit&) = delete;
  ClearOpenSslErrorsOnExit& operator=(const ClearOpenSslErrorsOnExit&) =
      delete;
  ~ClearOpenSslErrorsOnExit();
};

// The calling thread's OpenSSL errors, oldest first, as one line (and
// empties the queue); "no OpenSSL error" when there is none. OpenSSL's
// messages name what failed, never key material.
std::string OpenSslErrors();

// A pem_password_cb that makes OpenSSL fail on an encrypted PEM block
// instead of prompting on the terminal for its passphrase.
int NoPassphrase(char* buf, int size, int rwflag, void* userdata);

// A read-only memory BIO over `text`, which must outlive it; null when out
// of memory.
BioPtr MemoryBio(absl::string_view text);

// What was written to the memory BIO `bio`.
std::string MemoryBioText(BIO& bio);

// The first certificate, private key or certificate request in `pem`, or
// null (an encrypted key too: see NoPassphrase).
X509Ptr ParseCertificatePem(absl::string_view pem);
PkeyPtr ParsePrivateKeyPem(absl::string_view pem);
X509ReqPtr ParseCertificateRequestPem(absl::string_view pem);

}  // namespace pyservice::tls

#endif  // PYSERVICE_COMMON_TLS_OPENSSL_HANDLES_H_
