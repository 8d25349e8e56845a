#include "controller/store/aes_gcm_spec_sealer.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace pyservice::controller {
namespace {

constexpr char kVersion = '\x01';
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kHeaderBytes = kSealedSpecMagic.size() + 1 + kSecretsKeyIdBytes;

struct CipherFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherFree>;

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* Bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

std::string Row(absl::string_view app, uint32_t number) {
  return absl::StrCat(app, " revision ", number);
}

// The header, then the row: app names never contain NUL, and the number is
// fixed-width, so no two rows give the same bytes.
std::string AdditionalData(absl::string_view header, absl::string_view app, uint32_t number) {
  const char be[4] = {static_cast<char>(number >> 24), static_cast<char>(number >> 16),
                      static_cast<char>(number >> 8), static_cast<char>(number)};
  return absl::StrCat(header, app, absl::string_view("\0", 1), absl::string_view(be, 4));
}

}  // namespace

AesGcmSpecSealer::AesGcmSpecSealer(const SecretKeys& keys, std::string key_file,
                                   std::optional<SecretKeys> also_opens)
    : key_(keys.encryption),
      key_id_(keys.key_id),
      key_file_(std::move(key_file)),
      also_opens_(std::move(also_opens)) {}

const std::string* AesGcmSpecSealer::KeyFor(absl::string_view key_id) const {
  if (key_id == key_id_) return &key_;
  if (also_opens_.has_value() && key_id == also_opens_->key_id) return &also_opens_->encryption;
  return nullptr;
}

absl::StatusOr<std::string> AesGcmSpecSealer::Seal(absl::string_view app, uint32_t number,
                                                   absl::string_view plaintext) const {
  const std::string header =
      absl::StrCat(kSealedSpecMagic, absl::string_view(&kVersion, 1), key_id_);
  std::string nonce(kNonceBytes, '\0');
  if (RAND_bytes(Bytes(nonce), static_cast<int>(nonce.size())) != 1) {
    return absl::InternalError("OpenSSL's random generator failed");
  }
  const std::string aad = AdditionalData(header, app, number);
  CipherPtr ctx(EVP_CIPHER_CTX_new());
  std::string ciphertext(plaintext.size(), '\0');
  std::string tag(kTagBytes, '\0');
  int length = 0;
  int final_length = 0;
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(key_), Bytes(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &length, Bytes(aad), static_cast<int>(aad.size())) !=
          1 ||
      EVP_EncryptUpdate(ctx.get(), Bytes(ciphertext), &length, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), Bytes(ciphertext) + length, &final_length) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, Bytes(tag)) != 1) {
    return absl::InternalError(absl::StrCat("cannot seal the spec of ", Row(app, number)));
  }
  return absl::StrCat(header, nonce, ciphertext, tag);
}

absl::StatusOr<std::string> AesGcmSpecSealer::Open(absl::string_view app, uint32_t number,
                                                   absl::string_view sealed) const {
  if (!IsSealedSpec(sealed) || sealed.size() < kHeaderBytes + kNonceBytes + kTagBytes ||
      sealed[kSealedSpecMagic.size()] != kVersion) {
    return absl::DataLossError(absl::StrCat("stored spec of ", Row(app, number),
                                            " is not in a sealed format this controller knows"));
  }
  const absl::string_view header = sealed.substr(0, kHeaderBytes);
  const absl::string_view key_id = header.substr(kSealedSpecMagic.size() + 1);
  const std::string* key = KeyFor(key_id);
  if (key == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "stored spec of ", Row(app, number), " was sealed with another secrets key (key id ",
        absl::BytesToHexString(key_id), ") than the key file ", key_file_, " (key id ",
        absl::BytesToHexString(key_id_),
        "): the key file does not match this data dir; start the controller with the key file "
        "this data dir was written with"));
  }
  const absl::string_view nonce = sealed.substr(kHeaderBytes, kNonceBytes);
  const absl::string_view body = sealed.substr(kHeaderBytes + kNonceBytes);
  const absl::string_view ciphertext = body.substr(0, body.size() - kTagBytes);
  std::string tag(body.substr(ciphertext.size()));
  const std::string aad = AdditionalData(header, app, number);
  CipherPtr ctx(EVP_CIPHER_CTX_new());
  std::string plaintext(ciphertext.size(), '\0');
  int length = 0;
  int final_length = 0;
  const bool ok =
      ctx != nullptr &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(*key), Bytes(nonce)) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &length, Bytes(aad), static_cast<int>(aad.size())) ==
          1 &&
      EVP_DecryptUpdate(ctx.get(), Bytes(plaintext), &length, Bytes(ciphertext),
                        static_cast<int>(ciphertext.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, Bytes(tag)) == 1 &&
      // Authenticates: fails for a wrong key, another row, any changed byte.
      EVP_DecryptFinal_ex(ctx.get(), Bytes(plaintext) + length, &final_length) == 1;
  if (!ok) {
    return absl::DataLossError(absl::StrCat("stored spec of ", Row(app, number),
                                            " does not decrypt with the key file ", key_file_,
                                            ": it is damaged, or was copied from another row"));
  }
  return plaintext;
}

}  // namespace pyservice::controller
