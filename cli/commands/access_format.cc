#include "cli/commands/access_format.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace pyservice::cli {

absl::StatusOr<v1::Role> ParseRole(absl::string_view text) {
  if (text == "admin") return v1::ROLE_ADMIN;
  if (text == "deployer") return v1::ROLE_DEPLOYER;
  if (text == "viewer") return v1::ROLE_VIEWER;
  return absl::InvalidArgumentError(
      absl::StrCat("--role: \"", text, "\" is not admin, deployer or viewer"));
}

std::string RoleText(v1::Role role) {
  switch (role) {
    case v1::ROLE_ADMIN: return "admin";
    case v1::ROLE_DEPLOYER: return "deployer";
    case v1::ROLE_VIEWER: return "viewer";
    default: return "none";
  }
}

absl::StatusOr<absl::Duration> ParseTtl(absl::string_view flag, absl::string_view text) {
  if (text.empty() || text == "0") return absl::ZeroDuration();
  absl::Duration ttl;
  int64_t days = 0;
  absl::string_view number = text;
  if (absl::ConsumeSuffix(&number, "d") && absl::SimpleAtoi(number, &days) && days > 0) {
    return absl::Hours(24 * days);
  }
  if (absl::ParseDuration(text, &ttl) && ttl > absl::ZeroDuration()) return ttl;
  return absl::InvalidArgumentError(
      absl::StrCat(flag, ": \"", text, "\" is not a lifetime like 90m, 12h or 30d"));
}

}  // namespace pyservice::cli
