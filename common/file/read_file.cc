#include "common/file/read_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace pyservice {
namespace {

absl::Status ErrnoError(const std::string& path, int error) {
  const std::string message =
      absl::StrCat("cannot read ", path, ": ", std::strerror(error));
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case EISDIR:
      return absl::InvalidArgumentError(message);
    default:
      return absl::FailedPreconditionError(message);
  }
}

}  // namespace

absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             size_t max_bytes) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(path, errno);
  // open(2) succeeds on a directory; only read(2) would say EISDIR. Ask
  // first, so the message does not depend on which call noticed.
  struct stat info;
  if (fstat(fd, &info) != 0 || S_ISDIR(info.st_mode)) {
    const int error = S_ISDIR(info.st_mode) ? EISDIR : errno;
    close(fd);
    return ErrnoError(path, error);
  }
  BoundedRead read = ReadToEnd(fd, max_bytes);
  close(fd);
  if (read.error != 0) return ErrnoError(path, read.error);
  if (read.over_limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", path, ": larger than ", max_bytes, " bytes"));
  }
  return std::move(read.content);
}

BoundedRead ReadToEnd(int fd, size_t max_bytes) {
  BoundedRead read;
  char buffer[65536];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      read.error = errno;
      return read;
    }
    if (n == 0) return read;
    read.content.append(buffer, static_cast<size_t>(n));
    if (read.content.size() > max_bytes) {
      read.over_limit = true;
      return read;
    }
  }
}

}  // namespace pyservice
