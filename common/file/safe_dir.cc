#include "common/file/safe_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file/read_file.h"
#include "common/status/status_macros.h"

namespace pyservice {
namespace {

// The kernel's own limit on symlinks in one lookup.
constexpr int kMaxSymlinkHops = 40;

absl::Status ErrnoError(absl::string_view what, absl::string_view path, int error = errno) {
  const std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(error));
  if (error == ENOENT) return absl::NotFoundError(message);
  if (error == EACCES || error == EPERM) return absl::PermissionDeniedError(message);
  return absl::InternalError(message);
}

absl::Status CheckName(absl::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("not a single path component: \"", name, "\""));
  }
  return absl::OkStatus();
}

std::string TemporaryName(absl::string_view name) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return absl::StrCat(".", name, ".tmp-", absl::Hex(random(), absl::kZeroPad16));
}

// A symlink only root could have made: root's, in root's directory that
// nobody else may change (or a sticky one, where nobody else may rename
// root's entries).
bool OnlyRootCanChangeEntries(const struct stat& dir) {
  return dir.st_uid == 0 &&
         ((dir.st_mode & (S_IWGRP | S_IWOTH)) == 0 || (dir.st_mode & S_ISVTX) != 0);
}

// Root, or this process's own user: a process trusts what it could have
// made itself (the same as root for the agent; a controller running as its
// own user may keep its data dir behind its own symlink).
bool Trusted(uid_t uid) { return uid == 0 || uid == geteuid(); }

bool TrustedSymlink(int dir_fd, const struct stat& link) {
  struct stat dir;
  if (fstat(dir_fd, &dir) != 0) return false;
  return Trusted(link.st_uid) && Trusted(dir.st_uid) &&
         ((dir.st_mode & (S_IWGRP | S_IWOTH)) == 0 || (dir.st_mode & S_ISVTX) != 0);
}

// Clears `*all_root` unless only root can change the entries of `fd`.
void CheckRootOnly(int fd, bool* all_root) {
  if (all_root == nullptr) return;
  struct stat info;
  if (fstat(fd, &info) != 0 || !OnlyRootCanChangeEntries(info)) *all_root = false;
}

absl::StatusOr<std::string> ReadLinkAt(int dir_fd, const std::string& name,
                                       absl::string_view shown) {
  std::string target(PATH_MAX, '\0');
  const ssize_t n = readlinkat(dir_fd, name.c_str(), target.data(), target.size());
  if (n < 0) return ErrnoError("cannot read symlink", shown);
  target.resize(static_cast<size_t>(n));
  return target;
}

int OpenDirAt(int dir_fd, const char* name) {
  return openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

// Sets mode and owner of the directory open as `fd` if they differ.
absl::StatusOr<bool> FixDirectory(int fd, mode_t mode, std::optional<Owner> owner,
                                  absl::string_view shown) {
  struct stat info;
  if (fstat(fd, &info) != 0) return ErrnoError("cannot stat", shown);
  bool changed = false;
  // Owner first: a chown clears setgid bits a chmod just set.
  if (owner && (info.st_uid != owner->uid || info.st_gid != owner->gid)) {
    if (fchown(fd, owner->uid, owner->gid) != 0) return ErrnoError("cannot chown", shown);
    changed = true;
  }
  // fchmod even after mkdirat: mkdir's mode is filtered by the umask.
  if ((info.st_mode & 07777) != mode) {
    if (fchmod(fd, mode) != 0) return ErrnoError("cannot chmod", shown);
    changed = true;
  }
  return changed;
}

// The names in directory `name` of `dir_fd` (opened O_NOFOLLOW), and that
// directory's fd (owned by the caller) in `*opened`.
absl::StatusOr<std::vector<std::string>> ListAt(int dir_fd, const char* name,
                                                absl::string_view shown, int* opened) {
  const int fd = OpenDirAt(dir_fd, name);
  if (fd < 0) return ErrnoError("cannot open directory", shown);
  // fdopendir takes the fd; list through a duplicate so that *opened stays
  // valid after closedir.
  const int listed = dup(fd);
  DIR* listing = listed < 0 ? nullptr : fdopendir(listed);
  if (listing == nullptr) {
    const int error = errno;
    if (listed >= 0) close(listed);
    close(fd);
    return ErrnoError("cannot list", shown, error);
  }
  std::vector<std::string> entries;
  while (struct dirent* entry = readdir(listing)) {
    const absl::string_view child = entry->d_name;
    if (child != "." && child != "..") entries.emplace_back(child);
  }
  closedir(listing);
  *opened = fd;
  return entries;
}

absl::Status RemoveTreeAt(int dir_fd, const std::string& name, const std::string& shown) {
  if (unlinkat(dir_fd, name.c_str(), 0) == 0 || errno == ENOENT) return absl::OkStatus();
  if (errno != EISDIR && errno != EPERM) return ErrnoError("cannot remove", shown);
  int fd = -1;
  absl::StatusOr<std::vector<std::string>> entries = ListAt(dir_fd, name.c_str(), shown, &fd);
  if (absl::IsNotFound(entries.status())) return absl::OkStatus();
  if (!entries.ok()) return entries.status();
  absl::Status status;
  for (const std::string& child : *entries) {
    status = RemoveTreeAt(fd, child, absl::StrCat(shown, "/", child));
    if (!status.ok()) break;
  }
  close(fd);
  if (!status.ok()) return status;
  if (unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return ErrnoError("cannot remove", shown);
  }
  return absl::OkStatus();
}

absl::Status ChownTreeAt(int dir_fd, const std::string& name, const std::string& shown,
                         Owner owner) {
  // O_PATH|O_NOFOLLOW pins the inode that is checked and then chowned: a
  // name swapped in between changes nothing.
  const int fd = openat(dir_fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", shown);
  struct stat info;
  absl::Status status;
  if (fstat(fd, &info) != 0) {
    status = ErrnoError("cannot stat", shown);
  } else if (!S_ISDIR(info.st_mode) && info.st_nlink > 1) {
    status = absl::FailedPreconditionError(
        absl::StrCat(shown, " has ", info.st_nlink, " hard links; not changing its owner"));
  } else if (fchownat(fd, "", owner.uid, owner.gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    status = ErrnoError("cannot chown", shown);
  }
  close(fd);
  if (!status.ok() || !S_ISDIR(info.st_mode)) return status;
  int listed = -1;
  absl::StatusOr<std::vector<std::string>> entries = ListAt(dir_fd, name.c_str(), shown, &listed);
  if (!entries.ok()) return entries.status();
  for (const std::string& child : *entries) {
    status = ChownTreeAt(listed, child, absl::StrCat(shown, "/", child), owner);
    if (!status.ok()) break;
  }
  close(listed);
  return status;
}

}  // namespace

std::pair<std::string, std::string> SplitPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

absl::StatusOr<bool> OnlyRootCanChange(const std::string& path) {
  std::string current = path;
  for (int hops = 0; hops <= kMaxSymlinkHops; ++hops) {
    const auto [parent_path, name] = SplitPath(current);
    bool all_root = true;
    absl::StatusOr<Dir> parent =
        Dir::Walk(parent_path, /*create=*/false, 0, std::nullopt, &all_root);
    if (absl::IsFailedPrecondition(parent.status())) return false;  // an untrusted symlink
    if (!parent.ok()) return parent.status();
    absl::StatusOr<std::optional<struct stat>> info = parent->Stat(name);
    if (!info.ok()) return info.status();
    if (!*info) return absl::NotFoundError(absl::StrCat(path, " does not exist"));
    // A symlink's own mode bits mean nothing (always 0777).
    const bool writable = !S_ISLNK((*info)->st_mode) &&
                          ((*info)->st_mode & (S_IWGRP | S_IWOTH)) != 0;
    if (!all_root || (*info)->st_uid != 0 || writable) return false;
    if (!S_ISLNK((*info)->st_mode)) return true;
    absl::StatusOr<std::string> target = ReadLinkAt(parent->fd(), name, current);
    if (!target.ok()) return target.status();
    current = (*target)[0] == '/' ? *target : absl::StrCat(parent_path, "/", *target);
  }
  return ErrnoError("cannot resolve", path, ELOOP);
}

Dir::Dir(Dir&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }

Dir& Dir::operator=(Dir&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

Dir::~Dir() {
  if (fd_ >= 0) close(fd_);
}

std::string Dir::Join(absl::string_view name) const {
  return path_ == "/" ? absl::StrCat("/", name) : absl::StrCat(path_, "/", name);
}

absl::StatusOr<Dir> Dir::Open(const std::string& path) {
  return Walk(path, /*create=*/false, 0, std::nullopt);
}

absl::StatusOr<Dir> Dir::OpenOrCreate(const std::string& path, mode_t mode,
                                      std::optional<Owner> owner) {
  return Walk(path, /*create=*/true, mode, owner);
}

absl::StatusOr<Dir> Dir::Walk(const std::string& path, bool create, mode_t mode,
                              std::optional<Owner> owner, bool* all_root) {
  const bool absolute = !path.empty() && path[0] == '/';
  Dir current(open(absolute ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC),
              absolute ? "/" : ".");
  if (current.fd_ < 0) return ErrnoError("cannot open directory", current.path_);
  CheckRootOnly(current.fd_, all_root);
  std::deque<std::string> rest;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    rest.emplace_back(part);
  }
  int hops = 0;
  while (!rest.empty()) {
    const std::string name = std::move(rest.front());
    rest.pop_front();
    if (name == ".") continue;
    const std::string shown = current.Join(name);
    int fd = OpenDirAt(current.fd_, name.c_str());
    if (fd < 0 && errno == ENOENT && create && name != "..") {
      if (mkdirat(current.fd_, name.c_str(), 0700) != 0 && errno != EEXIST) {
        return ErrnoError("cannot create directory", shown);
      }
      fd = OpenDirAt(current.fd_, name.c_str());
      if (fd >= 0) {
        Dir created(fd, shown);
        absl::StatusOr<bool> fixed = FixDirectory(fd, mode, owner, shown);
        if (!fixed.ok()) return fixed.status();
        current = std::move(created);
        continue;
      }
    }
    if (fd >= 0) {
      current = Dir(fd, shown);
      CheckRootOnly(current.fd_, all_root);
      continue;
    }
    const int error = errno;
    if (error != ELOOP && error != ENOTDIR) {
      return ErrnoError("cannot open directory", shown, error);
    }
    struct stat info;
    if (fstatat(current.fd_, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError("cannot open directory", shown);
    }
    if (!S_ISLNK(info.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat(shown, " is not a directory"));
    }
    if (!TrustedSymlink(current.fd_, info)) {
      return absl::FailedPreconditionError(absl::StrCat(
          shown, " is a symlink owned by uid ", info.st_uid,
          "; not following it (whoever owns it chooses where it points)"));
    }
    if (++hops > kMaxSymlinkHops) return ErrnoError("cannot open directory", path, ELOOP);
    absl::StatusOr<std::string> target = ReadLinkAt(current.fd_, name, shown);
    if (!target.ok()) return target.status();
    std::vector<std::string> parts = absl::StrSplit(*target, '/', absl::SkipEmpty());
    rest.insert(rest.begin(), parts.begin(), parts.end());
    if (!target->empty() && (*target)[0] == '/') {
      current = Dir(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), "/");
      if (current.fd_ < 0) return ErrnoError("cannot open directory", "/");
      CheckRootOnly(current.fd_, all_root);
    }
  }
  current.path_ = path;
  return current;
}

absl::StatusOr<Dir> Dir::OpenBeneath(absl::string_view relative) const {
  const int first = dup(fd_);
  if (first < 0) return ErrnoError("cannot open directory", path_);
  Dir current(first, path_);
  for (absl::string_view part : absl::StrSplit(relative, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      return absl::InvalidArgumentError(absl::StrCat("\"..\" in ", relative));
    }
    const std::string name(part);
    const std::string shown = current.Join(name);
    const int fd = OpenDirAt(current.fd_, name.c_str());
    if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
      return absl::FailedPreconditionError(
          absl::StrCat(shown, " is not a directory (symlinks are not followed)"));
    }
    if (fd < 0) return ErrnoError("cannot open directory", shown);
    current = Dir(fd, shown);
  }
  return current;
}

absl::StatusOr<std::vector<std::string>> Dir::List() const {
  int fd = -1;
  ASSIGN_OR_RETURN(std::vector<std::string> entries, ListAt(fd_, ".", path_, &fd));
  close(fd);
  return entries;
}

absl::StatusOr<std::optional<struct stat>> Dir::Stat(absl::string_view name) const {
  if (absl::Status ok = CheckName(name); !ok.ok()) return ok;
  struct stat info;
  if (fstatat(fd_, std::string(name).c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return std::optional<struct stat>();
    return ErrnoError("cannot stat", Join(name));
  }
  return std::optional<struct stat>(info);
}

absl::StatusOr<std::optional<std::string>> Dir::ReadFile(absl::string_view name,
                                                         size_t max_bytes) const {
  if (absl::Status ok = CheckName(name); !ok.ok()) return ok;
  // O_NONBLOCK: opening a FIFO planted under the name must not hang.
  const int fd = openat(fd_, std::string(name).c_str(),
                        O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0 && errno == ENOENT) return std::optional<std::string>();
  if (fd < 0 && errno == ELOOP) {
    return absl::FailedPreconditionError(
        absl::StrCat(Join(name), ": not a regular file (a symlink; not followed)"));
  }
  if (fd < 0) return ErrnoError("cannot open", Join(name));
  struct stat info;
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(Join(name), ": not a regular file"));
  }
  const auto too_large = [&] {
    return absl::InvalidArgumentError(
        max_bytes % (size_t{1} << 20) == 0
            ? absl::StrCat(Join(name), ": larger than ", max_bytes >> 20, " MiB")
            : absl::StrCat(Join(name), ": larger than ", max_bytes, " bytes"));
  };
  if (static_cast<size_t>(info.st_size) > max_bytes) {
    close(fd);
    return too_large();
  }
  BoundedRead read = ReadToEnd(fd, max_bytes);
  close(fd);
  if (read.error != 0) return ErrnoError("cannot read", Join(name), read.error);
  if (read.over_limit) return too_large();
  return std::optional<std::string>(std::move(read.content));
}

absl::Status Dir::WriteFile(absl::string_view name, absl::string_view content, mode_t mode,
                            std::optional<Owner> owner) const {
  if (absl::Status ok = CheckName(name); !ok.ok()) return ok;
  const std::string temporary = TemporaryName(name);
  const std::string shown = Join(temporary);
  // Created 0600 so the content is never readable by others, even for the
  // moment before fchmod; secrets go through here. O_EXCL|O_NOFOLLOW: a
  // name planted in advance is never opened.
  const int fd = openat(fd_, temporary.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot create", shown);
  absl::Status status;
  if (owner && fchown(fd, owner->uid, owner->gid) != 0) status = ErrnoError("cannot chown", shown);
  if (status.ok() && fchmod(fd, mode) != 0) status = ErrnoError("cannot chmod", shown);
  size_t written = 0;
  while (status.ok() && written < content.size()) {
    const ssize_t n = write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) status = ErrnoError("cannot write", shown);
    if (n > 0) written += static_cast<size_t>(n);
  }
  if (status.ok() && fsync(fd) != 0) status = ErrnoError("cannot fsync", shown);
  close(fd);
  if (status.ok() && renameat(fd_, temporary.c_str(), fd_, std::string(name).c_str()) != 0) {
    status = ErrnoError("cannot rename into place", Join(name));
  }
  if (!status.ok()) {
    unlinkat(fd_, temporary.c_str(), 0);
    return status;
  }
  return Sync();
}

absl::StatusOr<bool> Dir::EnsureDirectory(absl::string_view name, mode_t mode,
                                          std::optional<Owner> owner) const {
  if (absl::Status ok = CheckName(name); !ok.ok()) return ok;
  const std::string name_z(name);
  bool created = false;
  if (mkdirat(fd_, name_z.c_str(), 0700) == 0) {
    created = true;
  } else if (errno != EEXIST) {
    return ErrnoError("cannot create directory", Join(name));
  }
  const int fd = OpenDirAt(fd_, name_z.c_str());
  if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
    return absl::FailedPreconditionError(
        absl::StrCat(Join(name), " exists and is not a directory (symlinks are not followed)"));
  }
  if (fd < 0) return ErrnoError("cannot open directory", Join(name));
  absl::StatusOr<bool> fixed = FixDirectory(fd, mode, owner, Join(name));
  close(fd);
  if (!fixed.ok()) return fixed.status();
  return created || *fixed;
}

absl::Status Dir::ReplaceSymlink(absl::string_view name, const std::string& target) const {
  if (absl::Status ok = CheckName(name); !ok.ok()) return ok;
  const std::string temporary = TemporaryName(name);
  if (symlinkat(target.c_str(), fd_, temporary.c_str()) != 0) {
    return ErrnoError("cannot create symlink", Join(temporary));
  }
  if (renameat(fd_, temporary.c_str(), fd_, std::string(name).c_str()) != 0) {
    const int error = errno;
    unlinkat(fd_, temporary.c_str(), 0);
    return ErrnoError("cannot rename symlink into place", Join(name), error);
  }
  return Sync();
}

absl::StatusOr<std::optional<std::string>> Dir::ReadSymlink(absl::string_view name) const {
  if (absl::Status ok = CheckName(name); !ok.ok()) return ok;
  absl::StatusOr<std::string> target = ReadLinkAt(fd_, std::string(name), Join(name));
  if (absl::IsNotFound(target.status())) return std::optional<std::string>();
  if (!target.ok()) return target.status();
  return std::optional<std::string>(*std::move(target));
}

absl::Status Dir::Remove(absl::string_view name) const {
  if (absl::Status ok = CheckName(name); !ok.ok()) return ok;
  const std::string name_z(name);
  if (unlinkat(fd_, name_z.c_str(), 0) == 0 || errno == ENOENT) return absl::OkStatus();
  if ((errno == EISDIR || errno == EPERM) && unlinkat(fd_, name_z.c_str(), AT_REMOVEDIR) == 0) {
    return absl::OkStatus();
  }
  return ErrnoError("cannot remove", Join(name));
}

absl::Status Dir::RemoveTree(absl::string_view name) const {
  if (absl::Status ok = CheckName(name); !ok.ok()) return ok;
  return RemoveTreeAt(fd_, std::string(name), Join(name));
}

absl::Status Dir::ChownTree(absl::string_view name, Owner owner) const {
  if (absl::Status ok = CheckName(name); !ok.ok()) return ok;
  return ChownTreeAt(fd_, std::string(name), Join(name), owner);
}

absl::Status Dir::Rename(absl::string_view from, const Dir& target, absl::string_view to) const {
  if (absl::Status ok = CheckName(from); !ok.ok()) return ok;
  if (absl::Status ok = CheckName(to); !ok.ok()) return ok;
  if (renameat(fd_, std::string(from).c_str(), target.fd_, std::string(to).c_str()) != 0) {
    return ErrnoError(absl::StrCat("cannot move ", Join(from), " to"), target.Join(to));
  }
  return absl::OkStatus();
}

absl::Status Dir::Sync() const {
  if (fsync(fd_) != 0) return ErrnoError("cannot fsync", path_);
  return absl::OkStatus();
}

}  // namespace pyservice
