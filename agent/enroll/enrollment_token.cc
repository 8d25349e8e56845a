#include "agent/enroll/enrollment_token.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/file/private_file.h"
#include "common/file/read_file.h"
#include "common/status/status_macros.h"

namespace pyservice::agent {
namespace {

constexpr char kRole[] = "enrollment token file";
// Tokens are short; a bound so a wrong path fails instead of filling memory.
constexpr size_t kMaxTokenBytes = 4096;

}  // namespace

absl::StatusOr<std::string> ReadEnrollmentToken(const std::string& path) {
  RETURN_IF_ERROR(CheckOwnerOnly(kRole, path));
  absl::StatusOr<std::string> text = ReadFileToString(path, kMaxTokenBytes);
  if (!text.ok()) {
    // ReadFileToString names the path and the reason, never the content.
    return absl::Status(text.status().code(),
                        absl::StrCat(kRole, ": ", text.status().message()));
  }
  const std::string token(absl::StripAsciiWhitespace(*text));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        kRole, " ", path,
        " is empty: it must hold the token printed by `pyctl host "
        "enroll-token`"));
  }
  return token;
}

}  // namespace pyservice::agent
