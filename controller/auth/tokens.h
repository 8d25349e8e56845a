// The text form of bearer secrets: "<prefix>_<id>_<secret>", where the id
// finds the stored row and the secret (32 random bytes, base64url) is
// compared by hash. Operator tokens use the prefix "pst", enrollment tokens
// "pse", so one pasted in the wrong place is recognised and refused by name
// rather than by a lookup.
#ifndef PYSERVICE_CONTROLLER_AUTH_TOKENS_H_
#define PYSERVICE_CONTROLLER_AUTH_TOKENS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pyservice::controller::auth {

inline constexpr char kOperatorTokenPrefix[] = "pst";
inline constexpr char kEnrollmentTokenPrefix[] = "pse";

struct ParsedToken {
  uint32_t id = 0;
  std::string secret;
};

// A fresh secret from the system's CSPRNG.
absl::StatusOr<std::string> NewTokenSecret();

std::string FormatToken(absl::string_view prefix, uint32_t id, absl::string_view secret);

// UNAUTHENTICATED, never echoing the text, when `text` is not a token with
// `prefix` ("not a pyservice operator token (pst_…)").
absl::StatusOr<ParsedToken> ParseToken(absl::string_view prefix, absl::string_view text);

// Lowercase hex SHA-256: what the store keeps.
std::string HashTokenSecret(absl::string_view secret);

// Compares two equal-length strings in time independent of where they
// differ (hash comparisons should not leak a prefix match).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace pyservice::controller::auth

#endif  // PYSERVICE_CONTROLLER_AUTH_TOKENS_H_
