// Reading a small text file the user named (app.yaml, a --config file) with
// errors fit to show them: the path as given and the system's reason.
#ifndef PYSERVICE_COMMON_FILE_READ_FILE_H_
#define PYSERVICE_COMMON_FILE_READ_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace pyservice {

// The whole file. Errors read "cannot read PATH: REASON": NOT_FOUND for a
// missing file, PERMISSION_DENIED, INVALID_ARGUMENT for a directory or a
// file over `max_bytes`, FAILED_PRECONDITION for anything else.
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             size_t max_bytes);

// What reading an open file to its end brought: its content, or the errno
// of a failed read(2), or that it held more than the limit (files can grow
// while they are read, so a size checked before is not enough). Callers
// word the errors: the path they show differs.
struct BoundedRead {
  std::string content;
  int error = 0;
  bool over_limit = false;
};
BoundedRead ReadToEnd(int fd, size_t max_bytes);

}  // namespace pyservice

#endif  // PYSERVICE_COMMON_FILE_READ_FILE_H_
