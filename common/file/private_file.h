// Files only their owner may touch: private keys and tokens. Checked before
// such a file is read, so a secret that others could have read (or
// replaced) is refused instead of trusted.
#ifndef PYSERVICE_COMMON_FILE_PRIVATE_FILE_H_
#define PYSERVICE_COMMON_FILE_PRIVATE_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace pyservice {

// OK when `path` (symlinks followed) has no group or other permission bits.
// FAILED_PRECONDITION otherwise, naming the file's role and path, its mode
// and the chmod that fixes it; NOT_FOUND / PERMISSION_DENIED when it cannot
// be examined.
absl::Status CheckOwnerOnly(absl::string_view role, const std::string& path);

}  // namespace pyservice

#endif  // PYSERVICE_COMMON_FILE_PRIVATE_FILE_H_
