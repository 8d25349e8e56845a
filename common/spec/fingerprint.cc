#include "common/spec/fingerprint.h"

#include "absl/strings/str_cat.h"
#include "common/text/sha256.h"

namespace pyservice::spec {

// The label says which kind of hash it is: the agent's local mode digests
// with plain "sha256:", and the two must never be mistaken for each other.
std::string SecretFingerprinter::Full(absl::string_view secret) const {
  return absl::StrCat("hmac-sha256:", text::HmacSha256Hex(key_, secret));
}

// 48 bits are plenty to see that a secret changed; the key, not the length,
// is what stops guessing.
std::string SecretFingerprinter::Redacted(absl::string_view secret) const {
  return absl::StrCat("<secret, ", secret.size(),
                      " bytes, hmac-sha256:", text::HmacSha256Hex(key_, secret).substr(0, 12), ">");
}

}  // namespace pyservice::spec
