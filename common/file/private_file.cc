#include "common/file/private_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/ascii.h"
#include "common/file/read_file.h"

namespace pyservice {

absl::Status CheckOwnerOnly(absl::string_view role, const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    const int error = errno;
    const std::string message =
        absl::StrCat(role, " ", path, ": ", std::strerror(error));
    if (error == ENOENT || error == ENOTDIR) return absl::NotFoundError(message);
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::FailedPreconditionError(message);
  }
  // Write access matters as much as read access: whoever can replace a key
  // or a token chooses the identity it gives.
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s %s can be read or changed by group or others (mode %04o); "
        "chmod 600 %s",
        role, path, info.st_mode & 07777, path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadSecretFile(absl::string_view role, const std::string& path,
                                           absl::string_view empty_hint) {
  // Tokens are short; a bound so a wrong path fails instead of filling
  // memory.
  constexpr size_t kMaxSecretBytes = 4096;
  if (absl::Status owner_only = CheckOwnerOnly(role, path); !owner_only.ok()) return owner_only;
  absl::StatusOr<std::string> text = ReadFileToString(path, kMaxSecretBytes);
  if (!text.ok()) {
    // ReadFileToString names the path and the reason, never the content.
    return absl::Status(text.status().code(), absl::StrCat(role, ": ", text.status().message()));
  }
  std::string secret(absl::StripAsciiWhitespace(*text));
  if (secret.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(role, " ", path, " is empty: ", empty_hint));
  }
  return secret;
}

}  // namespace pyservice
