#include "controller/store/access_store.h"

#include "absl/strings/str_cat.h"

namespace pyservice::controller {

absl::Status CheckEnrollmentTokenUsable(const StoredEnrollmentToken& token, absl::Time now,
                                        const StoredCertificate& certificate) {
  if (token.used_at.has_value()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "enrollment token for host \"", token.host, "\" was already used at ",
        absl::FormatTime(absl::RFC3339_sec, *token.used_at, absl::UTCTimeZone()),
        "; create a new one with `pyctl host enroll-token`"));
  }
  if (now >= token.expires_at) {
    return absl::UnauthenticatedError(absl::StrCat(
        "enrollment token for host \"", token.host, "\" expired at ",
        absl::FormatTime(absl::RFC3339_sec, token.expires_at, absl::UTCTimeZone()),
        "; create a new one with `pyctl host enroll-token`"));
  }
  if (certificate.host != token.host) {
    return absl::InternalError("certificate issued for another host than the token's");
  }
  return absl::OkStatus();
}

}  // namespace pyservice::controller
