#include "controller/secrets/secret_keys.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace pyservice::controller {
namespace {

// Changing an info string changes the subkey: every sealed spec and every
// digest would no longer match. Versioned so a future scheme can add its own.
constexpr absl::string_view kEncryptionInfo = "pyservice-controller spec encryption v1";
constexpr absl::string_view kFingerprintInfo = "pyservice-controller secret fingerprints v1";
constexpr absl::string_view kKeyIdInfo = "pyservice-controller key id v1";

struct KdfFree {
  void operator()(EVP_KDF* kdf) const { EVP_KDF_free(kdf); }
  void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};

// HKDF-SHA256 (RFC 5869) without salt: the master is uniformly random
// already, which is the case the RFC allows it for.
absl::StatusOr<std::string> Hkdf(absl::string_view master, absl::string_view info, size_t size) {
  std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (kdf == nullptr) return absl::InternalError("OpenSSL has no HKDF");
  std::unique_ptr<EVP_KDF_CTX, KdfFree> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (ctx == nullptr) return absl::InternalError("HKDF: out of memory");
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(master.data()),
                                        master.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end()};
  std::string out(size, '\0');
  if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), out.size(), params) !=
      1) {
    return absl::InternalError("HKDF derivation failed");
  }
  return out;
}

}  // namespace

absl::StatusOr<SecretKeys> DeriveSecretKeys(absl::string_view master) {
  if (master.size() != kSecretsKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a secrets key has ", kSecretsKeyBytes, " bytes, not ", master.size()));
  }
  SecretKeys keys;
  ASSIGN_OR_RETURN(keys.encryption, Hkdf(master, kEncryptionInfo, kSecretsKeyBytes));
  ASSIGN_OR_RETURN(keys.fingerprint, Hkdf(master, kFingerprintInfo, kSecretsKeyBytes));
  ASSIGN_OR_RETURN(keys.key_id, Hkdf(master, kKeyIdInfo, kSecretsKeyIdBytes));
  return keys;
}

}  // namespace pyservice::controller
