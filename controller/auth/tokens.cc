#include "controller/auth/tokens.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/text/sha256.h"

namespace pyservice::controller::auth {

namespace {
constexpr int kSecretBytes = 32;
// base64url without padding of kSecretBytes.
constexpr size_t kSecretChars = 43;
}  // namespace

absl::StatusOr<std::string> NewTokenSecret() {
  unsigned char bytes[kSecretBytes];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError("the system's random generator failed");
  }
  std::string secret = absl::WebSafeBase64Escape(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
  OPENSSL_cleanse(bytes, sizeof(bytes));
  return secret;
}

std::string FormatToken(absl::string_view prefix, uint32_t id, absl::string_view secret) {
  return absl::StrCat(prefix, "_", id, "_", secret);
}

absl::StatusOr<ParsedToken> ParseToken(absl::string_view prefix, absl::string_view text) {
  const std::string kind = prefix == kOperatorTokenPrefix ? "operator token" : "enrollment token";
  const absl::Status malformed = absl::UnauthenticatedError(
      absl::StrCat("not a pyservice ", kind, " (", prefix, "_ID_SECRET)"));
  // maxsplit 2: the secret's base64url alphabet contains '_'.
  std::vector<absl::string_view> parts = absl::StrSplit(text, absl::MaxSplits('_', 2));
  if (parts.size() != 3) return malformed;
  if (parts[0] != prefix) {
    if (parts[0] == kOperatorTokenPrefix || parts[0] == kEnrollmentTokenPrefix) {
      return absl::UnauthenticatedError(absl::StrCat(
          "this is ", parts[0] == kOperatorTokenPrefix ? "an operator" : "an enrollment",
          " token, not an ", kind));
    }
    return malformed;
  }
  ParsedToken parsed;
  if (!absl::SimpleAtoi(parts[1], &parsed.id) || parsed.id == 0 ||
      parts[2].size() != kSecretChars) {
    return malformed;
  }
  parsed.secret = std::string(parts[2]);
  return parsed;
}

std::string HashTokenSecret(absl::string_view secret) { return text::Sha256Hex(secret); }

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace pyservice::controller::auth
