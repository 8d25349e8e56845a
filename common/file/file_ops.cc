#include "common/file/file_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/file/read_file.h"

namespace pyservice {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path, int error = errno) {
  const std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(error));
  if (error == ENOENT) return absl::NotFoundError(message);
  if (error == EACCES || error == EPERM) return absl::PermissionDeniedError(message);
  return absl::InternalError(message);
}

std::string Parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// A name beside `path` that no concurrent writer picks.
std::string TemporaryName(const std::string& path) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return absl::StrCat(Parent(path), "/.", path.substr(path.rfind('/') + 1), ".tmp-",
                      absl::Hex(random(), absl::kZeroPad16));
}

absl::Status SyncDirectory(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open directory", dir);
  const int result = fsync(fd);
  const int error = errno;
  close(fd);
  if (result != 0) return ErrnoError("cannot fsync", dir, error);
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path, absl::string_view content, mode_t mode,
                                 std::optional<Owner> owner) {
  const std::string temporary = TemporaryName(path);
  // Created 0600 so the content is never readable by others, even for the
  // moment before fchmod; secrets go through here.
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot create", temporary);
  absl::Status status;
  if (owner && fchown(fd, owner->uid, owner->gid) != 0) status = ErrnoError("cannot chown", temporary);
  if (status.ok() && fchmod(fd, mode) != 0) status = ErrnoError("cannot chmod", temporary);
  size_t written = 0;
  while (status.ok() && written < content.size()) {
    const ssize_t n = write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) status = ErrnoError("cannot write", temporary);
    if (n > 0) written += static_cast<size_t>(n);
  }
  if (status.ok() && fsync(fd) != 0) status = ErrnoError("cannot fsync", temporary);
  close(fd);
  if (status.ok() && rename(temporary.c_str(), path.c_str()) != 0) {
    status = ErrnoError("cannot rename into place", path);
  }
  if (!status.ok()) {
    unlink(temporary.c_str());
    return status;
  }
  return SyncDirectory(Parent(path));
}

absl::StatusOr<bool> EnsureDirectory(const std::string& path, mode_t mode,
                                     std::optional<Owner> owner) {
  bool changed = false;
  if (mkdir(path.c_str(), mode) == 0) {
    changed = true;
  } else if (errno != EEXIST) {
    return ErrnoError("cannot create directory", path);
  }
  struct stat info;
  if (lstat(path.c_str(), &info) != 0) return ErrnoError("cannot stat", path);
  if (!S_ISDIR(info.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a directory"));
  }
  // chmod after mkdir: mkdir's mode is filtered by the umask.
  if ((info.st_mode & 07777) != mode) {
    if (chmod(path.c_str(), mode) != 0) return ErrnoError("cannot chmod", path);
    changed = true;
  }
  if (owner && (info.st_uid != owner->uid || info.st_gid != owner->gid)) {
    if (lchown(path.c_str(), owner->uid, owner->gid) != 0) return ErrnoError("cannot chown", path);
    changed = true;
  }
  return changed;
}

absl::StatusOr<bool> EnsureFile(const std::string& path, absl::string_view content, mode_t mode,
                                std::optional<Owner> owner) {
  struct stat info;
  if (lstat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
      (info.st_mode & 07777) == mode &&
      (!owner || (info.st_uid == owner->uid && info.st_gid == owner->gid)) &&
      static_cast<size_t>(info.st_size) == content.size()) {
    absl::StatusOr<std::optional<std::string>> existing = ReadFileIfExists(path);
    if (existing.ok() && *existing && **existing == content) return false;
  }
  absl::Status written = WriteFileAtomically(path, content, mode, owner);
  if (!written.ok()) return written;
  return true;
}

absl::StatusOr<std::optional<std::string>> ReadFileIfExists(const std::string& path) {
  absl::StatusOr<std::string> content = ReadFileToString(path, SIZE_MAX);
  if (absl::IsNotFound(content.status())) return std::optional<std::string>();
  if (!content.ok()) return content.status();
  return std::optional<std::string>(*std::move(content));
}

absl::Status ReplaceSymlink(const std::string& link, const std::string& target) {
  const std::string temporary = TemporaryName(link);
  if (symlink(target.c_str(), temporary.c_str()) != 0) return ErrnoError("cannot create symlink", temporary);
  if (rename(temporary.c_str(), link.c_str()) != 0) {
    const int error = errno;
    unlink(temporary.c_str());
    return ErrnoError("cannot rename symlink into place", link, error);
  }
  return SyncDirectory(Parent(link));
}

absl::StatusOr<std::optional<std::string>> ReadSymlink(const std::string& link) {
  std::error_code error;
  const std::filesystem::path target = std::filesystem::read_symlink(link, error);
  if (error == std::errc::no_such_file_or_directory) return std::optional<std::string>();
  if (error) return ErrnoError("cannot read symlink", link, error.value());
  return std::optional<std::string>(target.string());
}

absl::Status RemoveTree(const std::string& path) {
  std::error_code error;
  std::filesystem::remove_all(path, error);
  if (error) return ErrnoError("cannot remove", path, error.value());
  return absl::OkStatus();
}

absl::Status RemoveFile(const std::string& path) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError("cannot remove", path);
  return absl::OkStatus();
}

absl::Status ChownTree(const std::string& path, Owner owner) {
  if (lchown(path.c_str(), owner.uid, owner.gid) != 0) return ErrnoError("cannot chown", path);
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(path, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (lchown(it->path().c_str(), owner.uid, owner.gid) != 0) {
      return ErrnoError("cannot chown", it->path().string());
    }
  }
  if (error) return ErrnoError("cannot walk", path, error.value());
  return absl::OkStatus();
}

}  // namespace pyservice
