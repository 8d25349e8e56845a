#include "common/file/private_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

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

}  // namespace pyservice
