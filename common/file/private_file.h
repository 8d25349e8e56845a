// Files only their owner may touch: private keys and tokens. Checked before
// such a file is read, so a secret that others could have read (or
// replaced) is refused instead of trusted.
#ifndef PYSERVICE_COMMON_FILE_PRIVATE_FILE_H_
#define PYSERVICE_COMMON_FILE_PRIVATE_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pyservice {

// OK when `path` (symlinks followed) has no group or other permission bits.
// FAILED_PRECONDITION otherwise, naming the file's role and path, its mode
// and the chmod that fixes it; NOT_FOUND / PERMISSION_DENIED when it cannot
// be examined.
absl::Status CheckOwnerOnly(absl::string_view role, const std::string& path);

// A one-line secret (a token) from a file only its owner may touch
// (CheckOwnerOnly), without surrounding whitespace (editors add a newline).
// INVALID_ARGUMENT when it is empty (`empty_hint` says what belongs
// there) or larger than a token could be. Messages name the role and the
// path, never the content.
absl::StatusOr<std::string> ReadSecretFile(absl::string_view role, const std::string& path,
                                           absl::string_view empty_hint);

}  // namespace pyservice

#endif  // PYSERVICE_COMMON_FILE_PRIVATE_FILE_H_
