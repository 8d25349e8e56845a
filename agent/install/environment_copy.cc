#include "agent/install/environment_copy.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/file/safe_dir.h"
#include "common/status/status_macros.h"

namespace pyservice::agent {
namespace {

constexpr char kStaging[] = ".venv.copy";
// Larger files are binaries (compiled tools in bin/), never rewritten.
constexpr off_t kMaxScannedSize = 1 << 20;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

absl::Status ErrnoError(absl::string_view what, const std::string& path, int error = errno) {
  return absl::FailedPreconditionError(
      absl::StrCat("cannot ", what, " ", path, ": ", std::strerror(error)));
}

// Files pip or venv write with the environment's own path in them: bin/
// (shebangs, activate scripts), the venv's top level (pyvenv.cfg),
// site-packages' top level (an editable install's finder or .pth) and
// direct_url.json. Anything else is shared without being read.
bool MayNameTheRelease(const std::string& relative) {
  if (absl::StartsWith(relative, "bin/") || !absl::StrContains(relative, '/')) return true;
  if (absl::EndsWith(relative, "/direct_url.json")) return true;
  const std::vector<absl::string_view> parts = absl::StrSplit(relative, '/');
  return parts.size() == 4 && parts[0] == "lib" && parts[2] == "site-packages";
}

struct Walk {
  std::vector<std::pair<std::string, std::string>> replacements;  // old release -> new
  Owner owner;
  bool try_reflink = true;  // until the file system says it has none
  EnvironmentCopyCounts counts;
};

// The content of a regular file that names the old release, with the new
// release in its place; nullopt when the file names neither (or is binary).
absl::StatusOr<std::optional<std::string>> Rewritten(const Dir& dir, const std::string& name,
                                                     const struct stat& st, const Walk& walk) {
  if (st.st_size > kMaxScannedSize) return std::nullopt;
  ASSIGN_OR_RETURN(std::optional<std::string> content, dir.ReadFile(name, kMaxScannedSize));
  if (!content) return ErrnoError("open", absl::StrCat(dir.path(), "/", name), ENOENT);
  if (absl::StrContains(*content, '\0')) return std::nullopt;
  bool names = false;
  for (const auto& [from, to] : walk.replacements) names = names || absl::StrContains(*content, from);
  if (!names) return std::nullopt;
  return absl::StrReplaceAll(*content, walk.replacements);
}

absl::Status WriteNewFile(int dir, const std::string& name, absl::string_view content,
                          mode_t mode, const std::string& path, Owner owner) {
  Fd fd(openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.ok()) return ErrnoError("create", path);
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = write(fd.get(), content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoError("write", path);
    written += static_cast<size_t>(n);
  }
  if (fchown(fd.get(), owner.uid, owner.gid) != 0) return ErrnoError("chown", path);
  if (fchmod(fd.get(), mode) != 0) return ErrnoError("chmod", path);
  return absl::OkStatus();
}

// A copy-on-write clone; false when this file system has none.
absl::StatusOr<bool> Reflink(int from_dir, int to_dir, const std::string& name,
                             const struct stat& st, const std::string& path, Owner owner) {
  Fd from(openat(from_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!from.ok()) return ErrnoError("open", path);
  Fd to(openat(to_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!to.ok()) return ErrnoError("create", path);
  if (ioctl(to.get(), FICLONE, from.get()) != 0) {
    const int error = errno;
    unlinkat(to_dir, name.c_str(), 0);
    if (error == EOPNOTSUPP || error == ENOTTY || error == EXDEV || error == EINVAL) return false;
    return ErrnoError("clone", path, error);
  }
  if (fchown(to.get(), owner.uid, owner.gid) != 0) return ErrnoError("chown", path);
  if (fchmod(to.get(), st.st_mode & 07777) != 0) return ErrnoError("chmod", path);
  return true;
}

absl::Status CopyFile(const Dir& from, int to_dir, const std::string& name, const struct stat& st,
                      const std::string& relative, const std::string& path, Walk& walk) {
  const int from_dir = from.fd();
  if (MayNameTheRelease(relative)) {
    ASSIGN_OR_RETURN(std::optional<std::string> content, Rewritten(from, name, st, walk));
    if (content) {
      RETURN_IF_ERROR(WriteNewFile(to_dir, name, *content, st.st_mode & 07777, path, walk.owner));
      ++walk.counts.rewritten;
      return absl::OkStatus();
    }
  }
  ++walk.counts.shared;
  if (walk.try_reflink) {
    ASSIGN_OR_RETURN(bool cloned, Reflink(from_dir, to_dir, name, st, path, walk.owner));
    if (cloned) return absl::OkStatus();
    walk.try_reflink = false;
  }
  // Flags 0: a symlink swapped in since the lstat is linked, not followed.
  if (linkat(from_dir, name.c_str(), to_dir, name.c_str(), 0) != 0) return ErrnoError("link", path);
  return absl::OkStatus();
}

absl::Status CopyDirectory(const Dir& from, const Dir& to, const std::string& relative_dir,
                           Walk& walk) {
  ASSIGN_OR_RETURN(const std::vector<std::string> names, from.List());
  for (const std::string& name : names) {
    const std::string relative = relative_dir.empty() ? name : absl::StrCat(relative_dir, "/", name);
    const std::string path = absl::StrCat(from.path(), "/", name);
    ASSIGN_OR_RETURN(const std::optional<struct stat> entry, from.Stat(name));
    if (!entry) return ErrnoError("stat", path, ENOENT);
    const struct stat& st = *entry;
    if (S_ISDIR(st.st_mode)) {
      if (name == "__pycache__") continue;
      if (mkdirat(to.fd(), name.c_str(), 0700) != 0) return ErrnoError("create directory", path);
      ASSIGN_OR_RETURN(const Dir from_sub, from.OpenBeneath(name));
      ASSIGN_OR_RETURN(const Dir to_sub, to.OpenBeneath(name));
      RETURN_IF_ERROR(CopyDirectory(from_sub, to_sub, relative, walk));
      // Handed to the owner once filled: until the rename nothing of the
      // copy is theirs to change, and its root is root's 0700.
      if (fchown(to_sub.fd(), walk.owner.uid, walk.owner.gid) != 0 ||
          fchmod(to_sub.fd(), st.st_mode & 07777) != 0) {
        return ErrnoError("set the owner and mode of the copy of", path);
      }
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(PATH_MAX, '\0');
      const ssize_t n = readlinkat(from.fd(), name.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoError("read link", path);
      target.resize(static_cast<size_t>(n));
      target = absl::StrReplaceAll(target, walk.replacements);
      if (symlinkat(target.c_str(), to.fd(), name.c_str()) != 0 ||
          fchownat(to.fd(), name.c_str(), walk.owner.uid, walk.owner.gid, AT_SYMLINK_NOFOLLOW) !=
              0) {
        return ErrnoError("copy the symlink", path);
      }
    } else if (S_ISREG(st.st_mode)) {
      RETURN_IF_ERROR(CopyFile(from, to.fd(), name, st, relative, path, walk));
    }
    // Sockets, pipes and devices have no place in an environment: not copied.
  }
  return absl::OkStatus();
}

std::string RealPathOr(const std::string& path) {
  char* real = realpath(path.c_str(), nullptr);
  if (real == nullptr) return path;
  std::string result = real;
  free(real);
  return result;
}

}  // namespace

absl::StatusOr<EnvironmentCopyCounts> CopyEnvironment(const std::string& from_release,
                                                      const std::string& to_release, Owner owner) {
  Walk walk{{{from_release, to_release}}, owner, true, {}};
  // pip names the project by its real path (the working directory).
  const std::string real_from = RealPathOr(from_release);
  const std::string real_to = RealPathOr(to_release);
  if (real_from != from_release) walk.replacements.emplace_back(real_from, real_to);

  // Both releases are walked from `/` without following the app user's
  // symlinks (common/file/safe_dir.h).
  const std::string staging_path = absl::StrCat(to_release, "/", kStaging);
  ASSIGN_OR_RETURN(const Dir from_parent, Dir::Open(from_release));
  ASSIGN_OR_RETURN(const Dir to_parent, Dir::Open(to_release));
  RETURN_IF_ERROR(to_parent.RemoveTree(kStaging));  // a crashed copy's
  ASSIGN_OR_RETURN(const Dir from, from_parent.OpenBeneath(".venv"));
  struct stat st;
  if (fstat(from.fd(), &st) != 0) return ErrnoError("stat", from.path());
  if (mkdirat(to_parent.fd(), kStaging, 0700) != 0) return ErrnoError("create", staging_path);
  ASSIGN_OR_RETURN(const Dir to, to_parent.OpenBeneath(kStaging));
  RETURN_IF_ERROR(CopyDirectory(from, to, "", walk));
  if (fchown(to.fd(), owner.uid, owner.gid) != 0 || fchmod(to.fd(), st.st_mode & 07777) != 0) {
    return ErrnoError("set the owner and mode of", staging_path);
  }
  if (renameat(to_parent.fd(), kStaging, to_parent.fd(), ".venv") != 0) {
    return ErrnoError("rename into place", staging_path);
  }
  return walk.counts;
}

}  // namespace pyservice::agent
